/** How long identity certificates live: `dpCert.rotation.expiration`, 24h when unset (Kuma's default). */
import { parseDuration } from '../mesh/duration';
import type { Backend, ValidationIssue } from '../mesh/schema';

export const DEFAULT_LEAF_VALIDITY_MS = 24 * 3600 * 1000;

export function leafValidityMs(backend: Backend): number {
  const text = backend.dpCert?.rotation?.expiration;
  const parsed = text === undefined ? undefined : parseDuration(text);
  return parsed && parsed > 0 ? parsed : DEFAULT_LEAF_VALIDITY_MS;
}

export function leafValidityIssue(backend: Backend, pathPrefix: string): ValidationIssue | undefined {
  const text = backend.dpCert?.rotation?.expiration;
  if (text === undefined) return undefined;
  const parsed = parseDuration(text);
  if (parsed === undefined || parsed <= 0) {
    return { path: `${pathPrefix}.dpCert.rotation.expiration`, message: `"${text}" is not a positive duration (e.g. 24h, 1d)` };
  }
  return undefined;
}
