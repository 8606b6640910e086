/**
 * The control plane client's failures, and whether retrying can help:
 * - `ControlPlaneError`: the server answered with an error (status, Kuma's detail and causes);
 * - `ControlPlaneUnreachableError`: no answer (refused, reset, timeout) — transient;
 * - `ControlPlaneTlsError`: TLS failed for a reason a retry cannot fix (untrusted certificate,
 *   wrong host name, client certificate refused) — one line naming the setting to fix.
 */
import type { ErrorCause } from '../mesh/api-error';
import { errorMessage } from '../mesh/errors';

export class ControlPlaneError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly details: string | undefined,
    readonly causes: ErrorCause[],
    readonly pending: string[],
  ) {
    super(`${status} ${title}${details ? `: ${details}` : ''}${causes.length ? ` (${causes.map((c) => `${c.field}: ${c.message}`).join('; ')})` : ''}`);
    this.name = 'ControlPlaneError';
  }
}

export class ControlPlaneUnreachableError extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`control plane at ${url} is unreachable: ${errorMessage(cause)}`, { cause });
    this.name = 'ControlPlaneUnreachableError';
  }
}

export class ControlPlaneTlsError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'ControlPlaneTlsError';
  }
}
