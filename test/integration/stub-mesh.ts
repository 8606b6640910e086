/**
 * A rotation's outside world in memory, for workflow tests that need neither a control plane nor
 * proxies: a mesh with numbered versions, and proxies that follow the mesh the moment it changes unless
 * a test holds one back. The activities are plain functions over it; the workflow itself runs on the
 * test run's real Temporal server.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { RotationActivities } from '../../src/activities/types';
import { groupProxyStates, type ProxySnapshot, type ProxyState } from '../../src/mesh/insights';
import type { Mesh } from '../../src/mesh/schema';

export function meshWithBackends(name: string, enabled: string, backends: string[]): Mesh {
  return { type: 'Mesh', name, mtls: { enabledBackend: enabled, backends: backends.map((b) => ({ name: b, type: 'builtin' })) } };
}

export class StubMesh {
  /** Every version the rotation wrote, in order, with the actor it named. */
  readonly writes: { actor: string; mesh: Mesh }[] = [];
  reissues = 0;
  private readonly held = new Map<string, ProxyState>();

  constructor(
    readonly name: string,
    private readonly initial: Mesh,
    readonly proxyNames: readonly string[],
  ) {}

  get current(): Mesh {
    return this.writes.at(-1)?.mesh ?? this.initial;
  }

  get version(): number {
    return this.writes.length + 1;
  }

  /** The proxy keeps the state it has now (offline, if asked) until released. */
  hold(name: string, options: { online: boolean } = { online: true }): void {
    const state = this.proxies().find((p) => p.name === name);
    if (!state) throw new Error(`no proxy ${name}`);
    this.held.set(name, { ...state, online: options.online });
  }

  release(name: string): void {
    this.held.delete(name);
  }

  proxies(): ProxyState[] {
    const mtls = this.current.mtls;
    return this.proxyNames.map(
      (name) => this.held.get(name) ?? { name, online: true, supportedBackends: (mtls?.backends ?? []).map((b) => b.name), issuedBackend: mtls?.enabledBackend },
    );
  }

  snapshot(): ProxySnapshot {
    return { mesh: this.name, asOfSeq: 0, groups: groupProxyStates(this.proxies()) };
  }

  /** The backend names and the enabled one, e.g. "ca-1 [ca-1,ca-2]", for each version written. */
  history(): string[] {
    return this.writes.map((w) => `${w.mesh.mtls?.enabledBackend ?? ''} [${(w.mesh.mtls?.backends ?? []).map((b) => b.name).join(',')}]`);
  }
}

/** Activities that act on whichever stub mesh the request names. */
export function stubActivities(meshes: Map<string, StubMesh>): RotationActivities {
  const meshNamed = (name: string): StubMesh => {
    const mesh = meshes.get(name);
    if (!mesh) throw ApplicationFailure.nonRetryable(`no stub mesh ${name}`, 'MeshNotFound');
    return mesh;
  };
  return {
    async preflight({ mesh }) {
      const stub = meshNamed(mesh);
      return { current: stub.current, currentVersion: stub.version, warnings: [] };
    },
    async applyMeshVersion({ mesh, expectedVersion, desired, actor }) {
      const stub = meshNamed(mesh);
      if (expectedVersion !== stub.version) throw ApplicationFailure.nonRetryable(`version ${stub.version}, expected ${expectedVersion}`, 'MeshChangedOutsideRotation');
      stub.writes.push({ actor, mesh: desired });
      return { version: stub.version, alreadyApplied: false };
    },
    async snapshotProxies({ mesh }) {
      return meshNamed(mesh).snapshot();
    },
    async reissueCertificates({ mesh }) {
      const stub = meshNamed(mesh);
      stub.reissues++;
      return { issued: stub.proxyNames.length, skipped: 0, batches: 1 };
    },
  };
}
