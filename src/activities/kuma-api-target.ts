/**
 * The mesh target over a Kuma REST API: Kong Mesh, Kuma OSS, or our control plane. `GET /` tells
 * which: Kong Mesh says `"product": "Kong Mesh"`; ours says `"product": "Kuma"` (so the real kumactl
 * accepts it) and adds `meshCaRotator` with the extras it offers; anything else saying "Kuma" is Kuma.
 */
import { type ControlPlaneIndex, CONTROL_PLANE_EXTRAS } from '../controlplane/api-schemas';
import { type ControlPlaneClient, ControlPlaneError, proxyStateOfInsight } from '../controlplane/client';
import type { Mesh, Secret } from '../mesh/schema';
import { type MeshRead, type MeshTarget, type MeshTargetIdentity, MeshRevisionConflict, type ProxyReading } from './mesh-target';

export class UnknownControlPlaneError extends Error {
  constructor(index: ControlPlaneIndex, url: string) {
    super(`${url} answers GET / as "${index.product}" ${index.version}: not a Kuma or Kong Mesh control plane API (check CA_ROTATE_CP_URL)`);
    this.name = 'UnknownControlPlaneError';
  }
}

export function identityFromIndex(index: ControlPlaneIndex, url: string): MeshTargetIdentity {
  if (index.meshCaRotator) {
    const extras = new Set(index.meshCaRotator.extras);
    return {
      product: 'mesh-ca-rotator',
      description: `mesh-ca-rotator control plane ${index.meshCaRotator.version} (Kuma API ${index.version})`,
      capabilities: {
        revisions: extras.has(CONTROL_PLANE_EXTRAS.meshVersions) ? 'numbered' : 'none',
        reissue: extras.has(CONTROL_PLANE_EXTRAS.reissue),
        pushedAcks: extras.has(CONTROL_PLANE_EXTRAS.pushedAcks),
        multiBackendRotation: true,
      },
    };
  }
  const kuma = { revisions: 'none', reissue: false, pushedAcks: false } as const;
  if (index.product === 'Kong Mesh') return { product: 'kong-mesh', description: `Kong Mesh ${index.version}`, capabilities: { ...kuma, multiBackendRotation: true } };
  if (index.product === 'Kuma') return { product: 'kuma', description: `Kuma ${index.version}`, capabilities: { ...kuma, multiBackendRotation: false } };
  throw new UnknownControlPlaneError(index, url);
}

/** The one line a user sees when the control plane is Kuma OSS: why not, and what would work. */
export function multiBackendRotationRefusal(identity: MeshTargetIdentity): string {
  return (
    `${identity.description} (open source) cannot rotate a mesh CA without downtime: it allows one mTLS backend per mesh ` +
    `and refuses to change enabledBackend while mTLS is on. Rotate on Kong Mesh, whose control plane supports the three steps ` +
    `(or on this project's control plane); on Kuma the only way is to disable mTLS, change the backend and enable it again, which breaks mTLS traffic meanwhile.`
  );
}

export class KumaApiTarget implements MeshTarget {
  private identity: Promise<MeshTargetIdentity> | undefined;

  constructor(private readonly client: ControlPlaneClient) {}

  /** Asked once; a failed attempt is asked again next time. */
  identify(): Promise<MeshTargetIdentity> {
    this.identity ??= this.client.index().then((index) => identityFromIndex(index, this.client.url));
    this.identity.catch(() => (this.identity = undefined));
    return this.identity;
  }

  async getMesh(name: string): Promise<MeshRead | undefined> {
    const found = await this.client.getMesh(name);
    if (!found) return undefined;
    const modified = found.modificationTime ? Date.parse(found.modificationTime) : Number.NaN;
    return {
      mesh: found.mesh,
      ...(found.version !== undefined ? { revision: String(found.version) } : {}),
      ...(Number.isFinite(modified) ? { modifiedAtMs: modified } : {}),
    };
  }

  async putMesh(mesh: Mesh, opts: { ifRevision?: string; actor: string; excludeOffline?: readonly string[] }): Promise<{ revision?: string }> {
    // Only ours takes exclusions; Kong Mesh's validators decide for themselves.
    const exclude = opts.excludeOffline?.length && (await this.identify()).product === 'mesh-ca-rotator' ? { exclude: opts.excludeOffline } : {};
    try {
      const written = await this.client.putMesh(mesh, { ...(opts.ifRevision !== undefined ? { ifVersion: Number(opts.ifRevision) } : {}), actor: opts.actor, ...exclude });
      return written.version !== undefined ? { revision: String(written.version) } : {};
    } catch (err) {
      if (opts.ifRevision !== undefined && err instanceof ControlPlaneError && err.status === 409) throw new MeshRevisionConflict(mesh.name, err.details ?? err.message);
      throw err;
    }
  }

  getSecret(mesh: string, name: string): Promise<Secret | undefined> {
    return this.client.getSecret(mesh, name);
  }

  putSecret(secret: Secret): Promise<void> {
    return this.client.putSecret(secret);
  }

  async readProxies(mesh: string): Promise<ProxyReading> {
    const reading = await this.client.readOverview(mesh);
    return {
      proxies: reading.items.map(proxyStateOfInsight),
      ...(reading.seq !== undefined ? { seq: reading.seq } : {}),
      ...(reading.serverTimeMs !== undefined ? { serverTimeMs: reading.serverTimeMs } : {}),
    };
  }

  reissue(mesh: string, page: { after: string | null; limit: number }): Promise<{ issued: number; skipped: number; next: string | null }> {
    return this.client.reissue(mesh, page);
  }
}
