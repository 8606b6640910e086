/**
 * The errors CA backends throw: one family, and what a caller does with each.
 *
 * | class               | retryable | meaning                                           | caller does                      |
 * |---------------------|-----------|---------------------------------------------------|----------------------------------|
 * | CaConfigError       | no        | the backend's conf or CA material is wrong        | fail now, show `path` + message  |
 * | CaRequestError      | no        | this one request was refused (CSR, identity)      | fail this request, keep going    |
 * | CaUnavailableError  | yes       | the CA or its secret store did not answer, or     | retry with backoff               |
 * |                     |           | answered 5xx / 429                                |                                  |
 * | anything else       | yes       | a bug or an unforeseen transient failure          | retry with backoff, then surface |
 *
 * Per backend and operation (like cert-manager's CA issuer `Sign`, one outcome per branch):
 * - builtin  ensure/rootCertificates/openIssuer: stored CA unusable or conf invalid → CaConfigError;
 *            secret store read/write failed → CaUnavailableError.
 *   issue: CSR does not verify or is malformed → CaRequestError.
 * - provided ensure/rootCertificates/openIssuer: data source missing, unreadable file, bad PEM, not a
 *            CA, key mismatch, expired → CaConfigError; secret store read failed → CaUnavailableError.
 *   issue: as builtin.
 * - vault    any call: conf invalid or credentials refused (403), no such mount or role (404), other
 *            4xx → CaConfigError; Vault unreachable, timeout, 5xx, 429 → CaUnavailableError.
 *   issue: Vault refused the CSR or the identity (400) → CaRequestError.
 * `validate` never throws for bad input: it reports findings with paths instead. A CA or secret store
 * that does not answer proves nothing about the input: validate throws CaUnavailableError, and the
 * registry either rethrows it at its full path (activities, CLI: retried / exit 1) or reports it.
 */

export interface CaErrorDetails {
  /** Where in the backend the problem is (`conf.cert`), when known. */
  path?: string;
  /** HTTP status of the CA's answer, when there was one (vault). */
  status?: number;
  /** The CA's own error texts (vault), already free of secrets. */
  upstreamErrors?: readonly string[];
}

export abstract class CaError extends Error {
  abstract readonly retryable: boolean;
  readonly path?: string;
  readonly status?: number;
  readonly upstreamErrors: readonly string[];

  constructor(message: string, details: CaErrorDetails = {}) {
    super(message);
    this.path = details.path;
    this.status = details.status;
    this.upstreamErrors = details.upstreamErrors ?? [];
  }
}

/** Permanent until someone changes the backend's conf or its CA material. */
export class CaConfigError extends CaError {
  readonly retryable = false;
  override readonly name = 'CaConfigError';
}

/** Permanent for this request (a bad CSR, an identity the CA will not sign); other requests may pass. */
export class CaRequestError extends CaError {
  readonly retryable = false;
  override readonly name = 'CaRequestError';
}

/** Transient: the CA or the secret store may answer next time. */
export class CaUnavailableError extends CaError {
  readonly retryable = true;
  override readonly name = 'CaUnavailableError';
}

/** Whether retrying may help: CaErrors say so; anything else is treated as transient. */
export function isRetryableCaFailure(error: unknown): boolean {
  return error instanceof CaError ? error.retryable : true;
}
