/**
 * `PUT /meshes/{name}`: static validation → CA backend validation → version check → admission
 * (the step gates, unless forced) → ensure backends → one transaction writing the new version.
 * Any refusal leaves the store exactly as it was.
 */
import { admitMeshChange } from '../mesh/gates';
import { type Mesh, MeshSchema } from '../mesh/schema';
import { validateMesh } from '../mesh/validate';
import { proxyStateOf } from './ack-relay';
import type { CaAccess } from './ca-access';
import { apiMeshProblems } from './mesh-input-policy';
import { ApiError, badRequest, fieldPath } from './http-util';
import type { ControlPlaneStore } from './store';

export interface MeshWriteRequest {
  name: string;
  body: unknown;
  ifVersion: number | undefined;
  force: boolean;
  actor: string;
  /** Proxies the operator leaves out of admission for this edit (gone for good, say); recorded in the history. */
  exclude?: readonly string[];
  /**
   * A rotation's offline policy, not an operator: only the named proxies that are registered and
   * offline right now are left out (one back online counts again); the others are ignored, not refused.
   */
  excludeOnlyOffline?: boolean;
}

export interface MeshWriteResult {
  version: number;
  created: boolean;
  /** False when the body equalled the current mesh: no new version was written. */
  changed: boolean;
  mesh: Mesh;
}

export class MeshWriter {
  constructor(
    private readonly store: ControlPlaneStore,
    private readonly ca: CaAccess,
  ) {}

  async put(request: MeshWriteRequest): Promise<MeshWriteResult> {
    const mesh = this.parse(request.name, request.body);
    const policy = apiMeshProblems(mesh);
    if (policy.length > 0) throw badRequest(`mesh "${mesh.name}" is not accepted over the API`, policy);
    const knownSecrets = new Set(this.store.secrets.list(mesh.name).map((s) => s.name));
    const staticCheck = validateMesh(mesh, knownSecrets);
    if (staticCheck.errors.length > 0) {
      throw badRequest(`mesh "${mesh.name}" is invalid`, staticCheck.errors.map((e) => ({ field: e.path, message: e.message })));
    }
    const backendCheck = await this.ca.registry.validateBackends(mesh, this.ca.context(mesh.name));
    if (backendCheck.errors.length > 0) {
      throw badRequest(`mesh "${mesh.name}" has invalid CA backends`, backendCheck.errors.map((e) => ({ field: e.path, message: e.message })));
    }

    const current = this.store.meshes.get(mesh.name);
    this.checkVersion(request.ifVersion, current?.version);
    if (current && JSON.stringify(current.mesh) === JSON.stringify(mesh)) {
      return { version: current.version, created: false, changed: false, mesh };
    }
    const named = [...new Set(request.exclude ?? [])].sort();
    const excluded = request.excludeOnlyOffline ? named.filter((name) => this.store.dataplanes.get(mesh.name, name)?.online === false) : named;
    const unknown = excluded.filter((name) => !this.store.dataplanes.get(mesh.name, name));
    if (unknown.length > 0) {
      throw badRequest(`cannot exclude proxies that are not registered in mesh "${mesh.name}"`, [{ field: 'exclude', message: `unknown: ${unknown.slice(0, 20).join(', ')}` }]);
    }
    if (!request.force) {
      const proxies = this.store.dataplanes.ofMesh(mesh.name).map(proxyStateOf);
      const admission = admitMeshChange(current?.mesh, mesh, proxies, { nowMs: Date.now(), excluded: new Set(excluded) });
      if (!admission.allowed) throw new ApiError(422, 'Unprocessable Entity', admission.reason, undefined, admission.pending);
    }
    await this.ca.ensureBackends(mesh, current?.mesh);

    const written = this.store.meshes.write(mesh, {
      expectedVersion: request.ifVersion ?? current?.version,
      actor: request.actor,
      forced: request.force,
      excluded,
      now: new Date().toISOString(),
    });
    // Another write slipped in while we validated: the caller must read again (nothing was written).
    if (!written.ok) this.checkVersion(request.ifVersion ?? current?.version ?? 0, written.currentVersion);
    if (!written.ok) throw conflict(request.ifVersion, written.currentVersion);
    return { version: written.version, created: written.created, changed: true, mesh };
  }

  private parse(name: string, body: unknown): Mesh {
    const result = MeshSchema.safeParse(body);
    if (!result.success) {
      throw badRequest(
        'invalid Mesh',
        result.error.issues.map((issue) => ({ field: fieldPath(issue.path), message: issue.message })),
      );
    }
    if (result.data.name !== name) {
      throw badRequest('the name in the body differs from the name in the path', [
        { field: 'name', message: `"${result.data.name}" does not match "${name}" in the path` },
      ]);
    }
    return result.data;
  }

  private checkVersion(expected: number | undefined, current: number | undefined): void {
    if (expected !== undefined && expected !== current) throw conflict(expected, current);
  }
}

function conflict(expected: number | undefined, current: number | undefined): ApiError {
  return new ApiError(
    409,
    'Conflict',
    current === undefined
      ? `If-Match names version ${expected} but the mesh does not exist`
      : `If-Match names version ${expected ?? '(any)'} but the mesh is at version ${current}: read it again and reapply your change`,
  );
}
