/**
 * The mesh target on Kubernetes: the Mesh custom resource with `resourceVersion` as its (opaque)
 * revision, Secrets in the control plane's namespace, the proxies from their DataplaneInsights. Acks
 * reach the workflow from a watch of those insights (src/kubernetes/insight-watcher.ts), so the
 * polling insight watcher stays idle; the control plane re-issues certificates on its own.
 */
import { KubernetesConflictError, type KubernetesConnection } from '../kubernetes/connection';
import { KubernetesMeshTarget } from '../kubernetes/mesh-target';
import type { Mesh, Secret } from '../mesh/schema';
import { type MeshRead, MeshRevisionConflict, type MeshTarget, type MeshTargetIdentity, type ProxyReading } from './mesh-target';

export class KubernetesTarget implements MeshTarget {
  private readonly kube: KubernetesMeshTarget;

  constructor(readonly connection: KubernetesConnection) {
    this.kube = new KubernetesMeshTarget(connection);
  }

  async identify(): Promise<MeshTargetIdentity> {
    return {
      product: 'kubernetes',
      description: `Kubernetes API at ${this.connection.server} (context ${this.connection.context})`,
      capabilities: { revisions: 'opaque', reissue: false, pushedAcks: true, multiBackendRotation: true },
    };
  }

  async getMesh(name: string): Promise<MeshRead | undefined> {
    const read = await this.kube.getMesh(name);
    if (!read) return undefined;
    return { mesh: read.mesh, revision: read.resourceVersion, ...(read.modifiedAtMs !== undefined ? { modifiedAtMs: read.modifiedAtMs } : {}) };
  }

  async putMesh(mesh: Mesh, opts: { ifRevision?: string; actor: string; excludeOffline?: readonly string[] }): Promise<{ revision?: string }> {
    try {
      const written = await this.kube.putMesh(mesh, { ifResourceVersion: opts.ifRevision, actor: opts.actor, excludeOffline: opts.excludeOffline ?? [] });
      return { revision: written.resourceVersion };
    } catch (err) {
      if (err instanceof KubernetesConflictError) throw new MeshRevisionConflict(mesh.name, err.message);
      throw err;
    }
  }

  getSecret(mesh: string, name: string): Promise<Secret | undefined> {
    return this.kube.getSecret(mesh, name);
  }

  putSecret(secret: Secret): Promise<void> {
    return this.kube.putSecret(secret);
  }

  async readProxies(mesh: string): Promise<ProxyReading> {
    const listed = await this.kube.listInsights(mesh);
    return { proxies: listed.states, seq: listed.revision, ...(listed.serverTimeMs !== undefined ? { serverTimeMs: listed.serverTimeMs } : {}) };
  }
}
