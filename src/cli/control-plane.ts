/** The control plane client for CLI commands, with one clear line when it cannot be reached. */
import { ControlPlaneClient, ControlPlaneError, ControlPlaneUnreachableError } from '../controlplane/client';
import type { Mesh } from '../mesh/schema';
import { CliError, EXIT_REFUSED, EXIT_UNEXPECTED } from './errors';
import type { Settings } from './settings';

export function controlPlaneClient(settings: Settings): ControlPlaneClient {
  return new ControlPlaneClient({ url: settings.controlPlaneUrl, token: settings.controlPlaneToken, timeoutMs: 10_000 });
}

/** Translates control plane failures into CLI errors; everything else passes through. */
export async function onControlPlane<T>(settings: Settings, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ControlPlaneUnreachableError) {
      throw new CliError(`cannot reach the control plane at ${settings.controlPlaneUrl} (CA_ROTATE_CP_URL): ${err.message}`, EXIT_UNEXPECTED);
    }
    if (err instanceof ControlPlaneError && err.status === 401) {
      throw new CliError(`the control plane at ${settings.controlPlaneUrl} refused the token: set CA_ROTATE_CP_TOKEN`, EXIT_UNEXPECTED);
    }
    throw err;
  }
}

export async function currentMesh(settings: Settings, name: string): Promise<{ mesh: Mesh; version: number }> {
  const found = await onControlPlane(settings, () => controlPlaneClient(settings).getMesh(name));
  if (!found) throw new CliError(`mesh "${name}" does not exist on the control plane at ${settings.controlPlaneUrl}`, EXIT_REFUSED);
  return found;
}
