/** How long identity certificates live: `dpCert.rotation.expiration` (Kuma's grammar), 24h when unset (Kuma's default). */
import { parseKumaDuration } from '../mesh/duration';
import type { Backend } from '../mesh/schema';

export const DEFAULT_LEAF_VALIDITY_MS = 24 * 3600 * 1000;

/** The static validation refuses anything but a positive duration; this falls back to the default all the same. */
export function leafValidityMs(backend: Backend): number {
  const parsed = parseKumaDuration(backend.dpCert?.rotation?.expiration);
  return parsed && parsed > 0 ? parsed : DEFAULT_LEAF_VALIDITY_MS;
}
