/** A mesh target holding one mesh in memory, shaped like Kong Mesh's REST API (for activity unit tests). */
import type { MeshRead, MeshTarget, MeshTargetIdentity } from '../../../src/activities/mesh-target';
import { MeshRevisionConflict } from '../../../src/activities/mesh-target';
import type { Mesh } from '../../../src/mesh/schema';

export const KONG_MESH: MeshTargetIdentity = {
  product: 'kong-mesh',
  description: 'Kong Mesh 2.14.3',
  capabilities: { revisions: 'none', reissue: false, pushedAcks: false, multiBackendRotation: true },
};

/** `numbered` gives the mesh revisions that a stale write conflicts with; `getSecret` stands in for the Secrets API. */
export function memoryMeshTarget(initial: Mesh, options: { numbered?: boolean; getSecret?: MeshTarget['getSecret'] } = {}) {
  const numbered = options.numbered === true;
  const state = { mesh: initial, revision: 1, writes: 0, beforeWrite: undefined as (() => void) | undefined };
  const target: MeshTarget = {
    identify: async () => (numbered ? { ...KONG_MESH, capabilities: { ...KONG_MESH.capabilities, revisions: 'numbered' } } : KONG_MESH),
    getMesh: async (): Promise<MeshRead> => ({ mesh: state.mesh, ...(numbered ? { revision: String(state.revision) } : {}) }),
    putMesh: async (written, opts) => {
      state.beforeWrite?.();
      state.beforeWrite = undefined;
      if (opts.ifRevision !== undefined && opts.ifRevision !== String(state.revision)) throw new MeshRevisionConflict(written.name, 'stale');
      state.mesh = written;
      state.revision++;
      state.writes++;
      return numbered ? { revision: String(state.revision) } : {};
    },
    getSecret: options.getSecret ?? (async () => undefined),
    putSecret: async () => undefined,
    readProxies: async () => ({ proxies: [] }),
  };
  return { state, target };
}
