/** Names a failed mTLS request or handshake the way an operator reads it in the traffic stats. */

export const UNKNOWN_AUTHORITY = 'certificate signed by unknown authority';
export const SAN_MISMATCH = 'SAN mismatch';
export const SAN_MISMATCH_CODE = 'ERR_SPIFFE_SAN_MISMATCH';

const UNKNOWN_AUTHORITY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** OpenSSL verify codes as Node reports them (`socket.authorizationError`, `err.code`). */
export function reasonFromCode(code: string): string {
  if (UNKNOWN_AUTHORITY_CODES.has(code)) return UNKNOWN_AUTHORITY;
  if (code === SAN_MISMATCH_CODE) return SAN_MISMATCH;
  if (code === 'CERT_HAS_EXPIRED') return 'certificate has expired';
  if (code === 'CERT_NOT_YET_VALID') return 'certificate is not yet valid';
  if (code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA') return `peer: ${UNKNOWN_AUTHORITY}`;
  return code;
}

export function failureReason(error: unknown): string {
  // Duck-typed: errors from Node internals may come from another realm (jest's vm), failing instanceof.
  if (typeof error === 'object' && error !== null) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && code.length > 0) return reasonFromCode(code);
    if (typeof message === 'string') return message;
  }
  return String(error);
}

/** An error whose message already is the reason (server rejections, protocol errors, timeouts). */
export class RequestFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'RequestFailure';
  }
}

export function reasonOf(error: unknown): string {
  return error instanceof RequestFailure ? error.reason : failureReason(error);
}

const TRUST_REASONS = [UNKNOWN_AUTHORITY, SAN_MISMATCH, 'certificate has expired', 'certificate is not yet valid'];

/**
 * A request that failed because one side did not accept the other's certificate: what a CA rotation
 * must never cause. Timeouts and dropped connections are not trust failures (a busy machine causes them).
 */
export function isTrustFailure(reason: string): boolean {
  return reason.startsWith('rejected by server: ') || TRUST_REASONS.some((trust) => reason.includes(trust));
}

/** Splits failures by reason into trust failures and the rest. */
export function splitFailures(failuresByReason: Record<string, number>): { trust: number; other: number } {
  let trust = 0;
  let other = 0;
  for (const [reason, count] of Object.entries(failuresByReason)) {
    if (isTrustFailure(reason)) trust += count;
    else other += count;
  }
  return { trust, other };
}
