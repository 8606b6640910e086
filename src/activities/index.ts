/**
 * The activities a worker registers, wired to a control plane and the CA backends. The target backend
 * is validated with the backend's own checks (for vault: a test issue), reading Secrets from the
 * control plane, so key material never passes through the workflow.
 */
import { validateBackend } from '../ca/registry';
import type { SecretStore } from '../ca/types';
import { ControlPlaneClient, type ControlPlaneConnection } from '../controlplane/client';
import type { Mesh } from '../mesh/schema';
import { Issues } from '../mesh/validate-issues';
import type { KubernetesConnection } from '../kubernetes/connection';
import { KubernetesTarget } from './kubernetes-target';
import { KumaApiTarget } from './kuma-api-target';
import type { MeshTarget, MeshTargetIdentity } from './mesh-target';
import { DEFAULT_KUMA_SETTLE_MS } from '../mesh/settle';
import { createRotationActivities, type TargetBackendValidator } from './rotation';
import type { RotationActivities } from './types';

export interface ActivityConnections {
  controlPlane: ControlPlaneConnection;
  vault?: { address?: string; token?: string };
  /** The settle rule's wait (src/mesh/settle.ts); default 0 on our control plane (its insights are acks), DEFAULT_KUMA_SETTLE_MS on Kuma and Kong Mesh. */
  insightSettleMs?: number;
}

/** Reads Secrets through the mesh target; never writes (validation only). */
class TargetSecrets implements SecretStore {
  constructor(private readonly target: MeshTarget) {}

  async get(mesh: string, name: string): Promise<Buffer | undefined> {
    const secret = await this.target.getSecret(mesh, name);
    return secret ? Buffer.from(secret.data, 'base64') : undefined;
  }

  async putIfAbsent(mesh: string, name: string, data: Buffer): Promise<Buffer> {
    return (await this.get(mesh, name)) ?? data;
  }
}

export function insightSettleMsFor(configured: number | undefined): (identity: MeshTargetIdentity) => number {
  return (identity) => configured ?? (identity.product === 'mesh-ca-rotator' ? 0 : DEFAULT_KUMA_SETTLE_MS);
}

export function meshTargetFor(connection: ControlPlaneConnection): MeshTarget {
  return new KumaApiTarget(new ControlPlaneClient({ timeoutMs: 30_000, ...connection }));
}

/** The Mesh and its Secrets in Kubernetes (docs/kubernetes.md). */
export function kubernetesMeshTarget(connection: KubernetesConnection): MeshTarget {
  return new KubernetesTarget(connection);
}

export function rotationActivitiesFor(connections: ActivityConnections, target: MeshTarget = meshTargetFor(connections.controlPlane)): RotationActivities {
  const secrets = new TargetSecrets(target);
  // Only the new backend (the others are live already), rooted at its own index; a CA that does not
  // answer throws CaUnavailableError, which the retry contract retries (failures.ts).
  const validateTargetBackend: TargetBackendValidator = async (mesh: Mesh, backendIndex: number) => {
    const backend = mesh.mtls?.backends?.[backendIndex];
    if (!backend) return { errors: [], warnings: [] };
    const issues = Issues.collect();
    const ctx = { mesh: mesh.name, secrets, vaultDefaults: connections.vault };
    await validateBackend(ctx, backend, issues.at('mtls', 'backends', backendIndex), { skipValidation: mesh.mtls?.skipValidation === true, unavailable: 'throw' });
    return issues.result;
  };
  return createRotationActivities({ target, validateTargetBackend, insightSettleMs: insightSettleMsFor(connections.insightSettleMs) });
}
