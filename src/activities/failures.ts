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
 * | a CA backend refused its conf, credentials or a request        | no       | InvalidCaBackend: the field and reason |
 * |   (CaConfigError, CaRequestError; src/ca/errors.ts)            |          |                            |
 * | a CA backend or its secret store did not answer: unreachable,  | yes      | (error) CaUnavailableError |
 * |   5xx, 429 (Vault down); validation cannot conclude meanwhile  |          |                            |
 * | Kubernetes: no kubeconfig, 401, 403 (names the verb), CRD not served, other 4xx | no | KubernetesPermanentError |
 * | Kubernetes: unreachable, 5xx, 429, 409, our webhook's "not yet" (422)           | yes | (error)                 |
 *
 * Every non-retryable type is one of NON_RETRYABLE_FAILURES (types.ts), which the workflow's retry
 * policy lists too: `failFast` only takes those.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { CaError } from '../ca/errors';
import { ControlPlaneError, ControlPlaneTlsError } from '../controlplane/client';
import { KubernetesPermanentError } from '../kubernetes/connection';
import { UnknownControlPlaneError } from './kuma-api-target';
import type { NonRetryableFailure } from './types';

/** A failure the workflow must not retry, of one of the contract's types. */
export function failFast(message: string, type: NonRetryableFailure): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

export function isRetryableStatus(error: ControlPlaneError): boolean {
  return error.status >= 500 || error.status === 409 || error.status === 429 || (error.status === 422 && error.pending.length > 0);
}

/** Turns a control plane or CA failure into the contract above; anything else passes through unchanged. */
export function asActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ControlPlaneTlsError) return failFast(err.message, 'ControlPlaneCredentials');
  if (err instanceof UnknownControlPlaneError) return failFast(err.message, 'UnsupportedControlPlane');
  if (err instanceof KubernetesPermanentError) return failFast(err.message, 'KubernetesPermanentError');
  if (err instanceof ControlPlaneError && !isRetryableStatus(err)) {
    const type = err.status === 401 || err.status === 403 ? 'ControlPlaneCredentials' : 'ControlPlaneRefused';
    return failFast(`the control plane refused: ${err.message}`, type);
  }
  if (err instanceof CaError && !err.retryable) return failFast(`${err.path ? `${err.path}: ` : ''}${err.message}`, 'InvalidCaBackend');
  return err;
}

export async function underFailureContract<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asActivityFailure(err);
  }
}
