/**
 * The control plane for CLI commands, through the mesh target, with one clear line when it fails; in
 * Kubernetes mode the target is the API server (the Mesh resource, Secrets in the control plane's namespace).
 */
import { kubernetesMeshTarget, meshTargetFor } from '../activities';
import { multiBackendRotationRefusal, UnknownControlPlaneError } from '../activities/kuma-api-target';
import type { MeshTarget, MeshTargetIdentity } from '../activities/mesh-target';
import { ControlPlaneClient, type ControlPlaneConnection, ControlPlaneError, ControlPlaneTlsError, ControlPlaneUnreachableError } from '../controlplane/client';
import { KubernetesPermanentError, KubernetesTransientError, connectKubernetes } from '../kubernetes/connection';
import type { Mesh } from '../mesh/schema';
import { CliError, EXIT_REFUSED, EXIT_UNEXPECTED } from './errors';
import type { Settings } from './settings';

export function controlPlaneConnection(settings: Settings, timeoutMs = 10_000): ControlPlaneConnection {
  return {
    url: settings.controlPlaneUrl,
    token: settings.controlPlaneToken,
    caFile: settings.controlPlaneCaFile,
    clientCertFile: settings.controlPlaneClientCert,
    clientKeyFile: settings.controlPlaneClientKey,
    timeoutMs,
  };
}

export function controlPlaneClient(settings: Settings): ControlPlaneClient {
  return onControlPlaneSync(settings, () => new ControlPlaneClient(controlPlaneConnection(settings)));
}

export function controlPlaneTarget(settings: Settings): MeshTarget {
  const kubernetes = settings.kubernetes;
  if (kubernetes) return onControlPlaneSync(settings, () => kubernetesMeshTarget(connectKubernetes(kubernetes)));
  return onControlPlaneSync(settings, () => meshTargetFor(controlPlaneConnection(settings)));
}

/** For messages: where the mesh lives, e.g. `on the control plane at URL`. */
export function meshLocation(settings: Settings): string {
  return settings.kubernetes ? 'in the Kubernetes cluster' : `on the control plane at ${settings.controlPlaneUrl}`;
}

function cliErrorFor(settings: Settings, err: unknown): unknown {
  if (err instanceof KubernetesPermanentError) return new CliError(err.message, EXIT_REFUSED);
  if (err instanceof KubernetesTransientError) return new CliError(err.message, EXIT_UNEXPECTED);
  if (err instanceof ControlPlaneUnreachableError) {
    return new CliError(`cannot reach the control plane at ${settings.controlPlaneUrl} (CA_ROTATE_CP_URL): ${err.message}`, EXIT_UNEXPECTED);
  }
  if (err instanceof ControlPlaneTlsError || err instanceof UnknownControlPlaneError) return new CliError(err.message, EXIT_UNEXPECTED);
  if (err instanceof ControlPlaneError && (err.status === 401 || err.status === 403)) {
    return new CliError(`the control plane at ${settings.controlPlaneUrl} refused: ${err.details ?? err.message}`, EXIT_UNEXPECTED);
  }
  return err;
}

function onControlPlaneSync<T>(settings: Settings, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw cliErrorFor(settings, err);
  }
}

/** Translates control plane failures into CLI errors; everything else passes through. */
export async function onControlPlane<T>(settings: Settings, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw cliErrorFor(settings, err);
  }
}

/** Refuses at once, before anything changes, where the control plane cannot do the procedure (Kuma OSS). */
export async function requireRotatableControlPlane(settings: Settings, target: MeshTarget): Promise<MeshTargetIdentity> {
  const identity = await onControlPlane(settings, () => target.identify());
  if (!identity.capabilities.multiBackendRotation) throw new CliError(multiBackendRotationRefusal(identity), EXIT_REFUSED);
  return identity;
}

/**
 * The mesh as the control plane holds it, and the refusal to print when this control plane cannot
 * rotate it (Kuma OSS): `plan` shows the plan and then refuses, `start` refuses before anything else.
 */
export async function currentMesh(settings: Settings, name: string): Promise<{ mesh: Mesh; refusal: string | undefined }> {
  const target = controlPlaneTarget(settings);
  const identity = await onControlPlane(settings, () => target.identify());
  const found = await onControlPlane(settings, () => target.getMesh(name));
  if (!found) throw new CliError(`mesh "${name}" does not exist ${meshLocation(settings)}`, EXIT_REFUSED);
  return { mesh: found.mesh, refusal: identity.capabilities.multiBackendRotation ? undefined : multiBackendRotationRefusal(identity) };
}
