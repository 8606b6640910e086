/** Lifetimes written in Kuma's duration grammar: a backend's `dpCert.rotation.expiration`, builtin `caCert.expiration`. Pure. */
import { MAX_DURATION_MS, parseKumaDuration } from '../duration';
import type { Issues } from '../validate-issues';

/** A Kuma duration string for how long something lives (`dpCert.rotation.expiration`, `caCert.expiration`). */
export function checkExpiration(text: string | null | undefined, issues: Issues, what: string): void {
  if (text === undefined || text === null || text === '') return;
  const ms = parseKumaDuration(text);
  if (ms === undefined) {
    issues.error(`${JSON.stringify(text)} has to be a valid format: one whole number and one unit of y, w, d, h, m, s or ms (e.g. 24h, 30d, 10y); Kuma takes no combinations like 1h30m`);
  } else if (ms === 0) {
    issues.stricter(`0 would give ${what} no lifetime at all: use a positive duration (stricter than Kuma on purpose: certificates that expire as they are issued break the rotation)`);
  } else if (ms > MAX_DURATION_MS) {
    issues.stricter(`${JSON.stringify(text)} is longer than Go's 292-year limit, where Kuma's arithmetic wraps around to a date in the past: use a shorter duration (stricter than Kuma on purpose)`);
  }
}
