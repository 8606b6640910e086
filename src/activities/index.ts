/**
 * The activities a worker registers, wired to a control plane and the CA backends. The target backend
 * is validated with the backend's own checks (for vault: a test issue), reading Secrets from the
 * control plane, so key material never passes through the workflow.
 */
import { validateBackends } from '../ca/registry';
import type { SecretStore } from '../ca/types';
import { ControlPlaneClient } from '../controlplane/client';
import type { Mesh } from '../mesh/schema';
import { createRotationActivities, type TargetBackendValidator } from './rotation';
import type { RotationActivities } from './types';

export interface ActivityConnections {
  controlPlaneUrl: string;
  controlPlaneToken?: string;
  vault?: { address?: string; token?: string };
}

/** Reads Secrets through the control plane's API; never writes (validation only). */
class ControlPlaneSecrets implements SecretStore {
  constructor(private readonly cp: ControlPlaneClient) {}

  async get(mesh: string, name: string): Promise<Buffer | undefined> {
    const secret = await this.cp.getSecret(mesh, name);
    return secret ? Buffer.from(secret.data, 'base64') : undefined;
  }

  async putIfAbsent(mesh: string, name: string, data: Buffer): Promise<Buffer> {
    return (await this.get(mesh, name)) ?? data;
  }
}

export function rotationActivitiesFor(connections: ActivityConnections): RotationActivities {
  const controlPlane = new ControlPlaneClient({ url: connections.controlPlaneUrl, token: connections.controlPlaneToken, timeoutMs: 30_000 });
  const secrets = new ControlPlaneSecrets(controlPlane);
  const validateTargetBackend: TargetBackendValidator = async (target: Mesh, backendIndex: number) => {
    const backend = target.mtls?.backends?.[backendIndex];
    if (!backend) return { errors: [], warnings: [] };
    // Only the new backend: the others are live already.
    const onlyNew: Mesh = { ...target, mtls: { ...target.mtls, backends: [backend] } };
    const result = await validateBackends(onlyNew, { mesh: target.name, secrets, vaultDefaults: connections.vault });
    const fixPath = (issue: { path: string; message: string }) => ({ ...issue, path: issue.path.replace(/^mtls\.backends\[0\]/, `mtls.backends[${backendIndex}]`) });
    return { errors: result.errors.map(fixPath), warnings: result.warnings.map(fixPath) };
  };
  return createRotationActivities({ controlPlane, validateTargetBackend });
}
