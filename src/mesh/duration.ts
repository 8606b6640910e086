/**
 * Kuma durations: Go's time.ParseDuration syntax (`24h`, `1h30m`, `0.5s`, `500ms`, `10us`) plus
 * Kuma's own whole-number `d` (days) and `y` (365-day years) forms (`1d`, `10y`), which Kuma only
 * accepts on their own, not combined with other units. Pure.
 */

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};
const MS_PER_DAY = 24 * 3_600_000;
const MS_PER_YEAR = 365 * MS_PER_DAY;

/** Go stores durations as int64 nanoseconds: about 292 years. Kuma rejects anything longer. */
export const MAX_DURATION_MS = 9_223_372_036_854.775;

const KUMA_DAYS_OR_YEARS = /^(\d+)([dy])$/;
const GO_COMPONENT = /(\d*)(?:\.(\d*))?([a-zµμ]+)/y;

/** Milliseconds (possibly fractional) for a Kuma duration, or undefined when it is not one (or negative). */
export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0) return undefined;
  const daysOrYears = KUMA_DAYS_OR_YEARS.exec(text);
  const ms = daysOrYears ? Number(daysOrYears[1]) * (daysOrYears[2] === 'd' ? MS_PER_DAY : MS_PER_YEAR) : parseGoDuration(text);
  return ms !== undefined && ms <= MAX_DURATION_MS ? ms : undefined;
}

function parseGoDuration(text: string): number | undefined {
  // A leading '+' is allowed by Go; a leading '-' is a negative duration, which no Kuma field wants.
  const unsigned = text.startsWith('+') ? text.slice(1) : text;
  if (unsigned === '0') return 0;
  if (unsigned.length === 0) return undefined;
  let total = 0;
  let position = 0;
  while (position < unsigned.length) {
    GO_COMPONENT.lastIndex = position;
    const match = GO_COMPONENT.exec(unsigned);
    if (!match) return undefined;
    const [whole, integer = '', fraction, unit = ''] = match;
    const perUnit = MS_PER_UNIT[unit];
    if (perUnit === undefined || (integer === '' && !fraction)) return undefined;
    total += Number(`${integer || '0'}.${fraction ?? ''}0`) * perUnit;
    position += whole.length;
  }
  return total;
}
