/**
 * The retry contract of the rotation's activities: what a control plane's answer means for the
 * workflow. Retryable failures are retried with backoff and no attempt limit (a control plane that is
 * down is waited out); non-retryable ones fail the workflow at once with one line that says why.
 *
 * | what happened                                                  | retried? | failure type               |
 * |----------------------------------------------------------------|----------|----------------------------|
 * | no answer: refused, reset, timeout                             | yes      | (error)                    |
 * | 5xx, 409 Conflict, 429 Too Many Requests                       | yes      | (error)                    |
 * | 422 with `pending` proxies (our admission: insights catch up)  | yes      | (error)                    |
 * | 401 / 403, TLS trust, host name or client certificate refused  | no       | ControlPlaneCredentials    |
 * | any other 4xx (validation, unknown route...)                   | no       | ControlPlaneRefused: the CP's detail and causes |
 * | answer that is not the Kuma API (bad JSON shape)               | yes      | (error): a proxy or a restart in the way |
 * | `GET /` is Kuma OSS, or not Kuma at all                        | no       | UnsupportedControlPlane    |
 * | the mesh is missing                                            | no       | MeshNotFound               |
 * | the mesh changed outside the rotation                          | no       | MeshChangedOutsideRotation |
 * | the target is invalid (plan, static or backend checks)         | no       | InvalidRotationTarget      |
 */
import { ApplicationFailure } from '@temporalio/activity';
import { ControlPlaneError, ControlPlaneTlsError } from '../controlplane/client';
import { UnknownControlPlaneError } from './kuma-api-target';

export function isRetryableStatus(error: ControlPlaneError): boolean {
  return error.status >= 500 || error.status === 409 || error.status === 429 || (error.status === 422 && error.pending.length > 0);
}

/** Turns a control plane failure into the contract above; anything else passes through unchanged. */
export function asActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ControlPlaneTlsError) return ApplicationFailure.nonRetryable(err.message, 'ControlPlaneCredentials');
  if (err instanceof UnknownControlPlaneError) return ApplicationFailure.nonRetryable(err.message, 'UnsupportedControlPlane');
  if (err instanceof ControlPlaneError && !isRetryableStatus(err)) {
    const type = err.status === 401 || err.status === 403 ? 'ControlPlaneCredentials' : 'ControlPlaneRefused';
    return ApplicationFailure.nonRetryable(`the control plane refused: ${err.message}`, type);
  }
  return err;
}

export async function underFailureContract<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asActivityFailure(err);
  }
}
