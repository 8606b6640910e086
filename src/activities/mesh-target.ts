/**
 * The mesh target: where a rotation reads and writes the Mesh, its Secrets and its proxies' state.
 * One interface, several control planes: the Kuma REST API (`KumaApiTarget`: Kong Mesh, Kuma, ours)
 * and Kubernetes (the Mesh CRD, Secrets in the control plane's namespace). The activities see only this.
 *
 * Exactly-once writes, whatever the target offers: `putMesh` takes the revision the caller just read,
 * and a target with revisions refuses a stale one (`MeshRevisionConflict`). The activity reads, compares
 * with what the rotation last wrote, then writes (see `applyMeshVersion`).
 */
import type { ProxyState } from '../mesh/insights';
import type { Mesh, Secret } from '../mesh/schema';

export type ControlPlaneProduct = 'kong-mesh' | 'kuma' | 'mesh-ca-rotator' | 'kubernetes';

export interface MeshTargetCapabilities {
  /**
   * How a write can be made conditional on what was read: `numbered` (our control plane's ETag mesh
   * versions), `opaque` (Kubernetes resourceVersion), `none` (Kuma's REST API: last writer wins).
   */
  revisions: 'numbered' | 'opaque' | 'none';
  /** Batched, resumable re-issue of proxy certificates on request (ours: `_reissue`). Otherwise the CP re-issues on its own. */
  reissue: boolean;
  /** Proxy acks pushed to the rotation workflow as `proxyAcks` signals; otherwise the insight watcher polls. */
  pushedAcks: boolean;
  /** Several `mtls.backends` and an `enabledBackend` change while mTLS is on: the procedure itself. */
  multiBackendRotation: boolean;
}

export interface MeshTargetIdentity {
  product: ControlPlaneProduct;
  /** As the server names itself, for messages: "Kong Mesh 2.14.3". */
  description: string;
  capabilities: MeshTargetCapabilities;
}

export interface MeshRead {
  /** Without server-owned fields (creationTime, modificationTime, kri). */
  mesh: Mesh;
  /** Opaque; absent when the target has no revisions. */
  revision?: string;
  /** When the server last changed the mesh, by its own clock (ms since the epoch). */
  modifiedAtMs?: number;
}

/** Every proxy of a mesh as the server reports it, and when, by the server's clock. */
export interface ProxyReading {
  proxies: ProxyState[];
  /** The server's own insight sequence number (ours), for ordering against pushed acks. */
  seq?: number;
  serverTimeMs?: number;
}

/** The mesh changed since the revision the write was conditional on: read again. */
export class MeshRevisionConflict extends Error {
  constructor(mesh: string, detail: string) {
    super(`mesh "${mesh}" changed since it was read: ${detail}`);
    this.name = 'MeshRevisionConflict';
  }
}

export interface MeshTarget {
  identify(): Promise<MeshTargetIdentity>;
  getMesh(name: string): Promise<MeshRead | undefined>;
  /** With `ifRevision` (targets with revisions), refuses with `MeshRevisionConflict` when the mesh moved on. */
  /** `excludeOffline`: proxies the admission may leave out while they are offline, where the target supports it. */
  putMesh(mesh: Mesh, opts: { ifRevision?: string; actor: string; excludeOffline?: readonly string[] }): Promise<{ revision?: string }>;
  getSecret(mesh: string, name: string): Promise<Secret | undefined>;
  putSecret(secret: Secret): Promise<void>;
  readProxies(mesh: string): Promise<ProxyReading>;
  /** Only where `capabilities.reissue`: one page of re-issue after cursor `after`. */
  reissue?(mesh: string, page: { after: string | null; limit: number }): Promise<{ issued: number; skipped: number; next: string | null }>;
}
