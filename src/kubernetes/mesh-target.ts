/**
 * The Mesh custom resource, the control plane's Secrets and the proxies' DataplaneInsights, all
 * through the API server with the RBAC of deploy/kubernetes/rbac.yaml (the activities' mesh target
 * adapts this in src/activities/kubernetes-target.ts).
 *
 * A write replaces the Mesh under the `resourceVersion` the caller read, so the API server refuses it
 * (409) if anything changed in between: the same guarantee as If-Match on our control plane's API.
 * `metadata.generation` counts the spec's changes (not label or annotation edits).
 */
import type { ProxyState } from '../mesh/insights';
import type { Mesh, Secret } from '../mesh/schema';
import {
  type KubernetesAction,
  type KubernetesConnection,
  KubernetesConflictError,
  KubernetesPermanentError,
  kubeCall,
  kubeGet,
  listKumaObjects,
} from './connection';
import {
  DATAPLANE_INSIGHTS,
  DataplaneInsightObjectSchema,
  KUMA_GROUP,
  KUMA_VERSION,
  EXCLUDE_OFFLINE_ANNOTATION,
  LAST_CHANGE_ANNOTATION,
  MESHES,
  type MeshObject,
  MeshObjectSchema,
  SecretObjectSchema,
  kumaSecretMesh,
  kumaSecretObject,
  lastChangedMs,
  meshFromObject,
  meshObjectWith,
  proxyStateOf,
  revisionNumber,
} from './resources';

export interface KubernetesMeshRead {
  mesh: Mesh;
  /** `metadata.generation`: one more for every change of the Mesh's spec. */
  generation: number;
  resourceVersion: string;
  /** When it last changed, by the API server's clock. */
  modifiedAtMs: number | undefined;
}

export class KubernetesMeshTarget {
  constructor(readonly connection: KubernetesConnection) {}

  async getMesh(name: string): Promise<KubernetesMeshRead | undefined> {
    const object = await this.readMeshObject(name);
    return object ? readOf(object) : undefined;
  }

  /**
   * Replaces the Mesh's spec; with `ifResourceVersion`, only over that version (KubernetesConflictError
   * otherwise). `excludeOffline` goes to the admission webhook with this write (EXCLUDE_OFFLINE_ANNOTATION).
   */
  async putMesh(mesh: Mesh, opts: { ifResourceVersion?: string; actor?: string; excludeOffline?: readonly string[] } = {}): Promise<{ generation: number; resourceVersion: string }> {
    const current = await this.readMeshObject(mesh.name);
    if (!current) {
      if (opts.ifResourceVersion !== undefined) throw new KubernetesConflictError(`mesh "${mesh.name}" no longer exists`);
      throw new KubernetesPermanentError(`mesh "${mesh.name}" does not exist in the cluster`);
    }
    // The API server enforces the precondition: the body carries the resourceVersion the caller read.
    const base = opts.ifResourceVersion === undefined ? current : { ...current, metadata: { ...current.metadata, resourceVersion: opts.ifResourceVersion } };
    const annotations: Record<string, string> = opts.actor ? { [LAST_CHANGE_ANNOTATION]: opts.actor, [EXCLUDE_OFFLINE_ANNOTATION]: (opts.excludeOffline ?? []).join(',') } : {};
    const body = meshObjectWith(base, mesh, annotations);
    const action: KubernetesAction = { verb: 'update', resource: 'meshes.kuma.io', name: mesh.name };
    const written = MeshObjectSchema.parse(
      await kubeCall(this.connection, action, () =>
        this.connection.custom.replaceClusterCustomObject({ group: KUMA_GROUP, version: KUMA_VERSION, plural: MESHES, name: mesh.name, body, fieldManager: 'mesh-ca-rotator' }),
      ),
    );
    return { generation: written.metadata.generation ?? 0, resourceVersion: written.metadata.resourceVersion ?? '' };
  }

  /** A Kuma Secret of `mesh` in the control plane's namespace, in the Universal shape (base64 `data`). */
  async getSecret(mesh: string, name: string): Promise<Secret | undefined> {
    const namespace = this.connection.namespace;
    const raw = await kubeGet(this.connection, { verb: 'get', resource: 'secrets', name, namespace }, () => this.connection.core.readNamespacedSecret({ name, namespace }));
    if (raw === undefined) return undefined;
    const object = SecretObjectSchema.parse(raw);
    const value = object.data?.value;
    if (kumaSecretMesh(object) !== mesh || value === undefined) return undefined;
    return { type: 'Secret', mesh, name, data: value };
  }

  async putSecret(secret: Secret): Promise<void> {
    const namespace = this.connection.namespace;
    const body = kumaSecretObject(secret.mesh, secret.name, namespace, secret.data);
    try {
      await kubeCall(this.connection, { verb: 'create', resource: 'secrets', name: secret.name, namespace }, () => this.connection.core.createNamespacedSecret({ namespace, body }));
      return;
    } catch (err) {
      if (!(err instanceof KubernetesConflictError)) throw err;
    }
    await kubeCall(this.connection, { verb: 'update', resource: 'secrets', name: secret.name, namespace }, () =>
      this.connection.core.replaceNamespacedSecret({ name: secret.name, namespace, body }),
    );
  }

  /** Every proxy of the mesh from its DataplaneInsight, as of the listing's etcd revision and the server's clock. */
  async listInsights(mesh: string): Promise<{ states: ProxyState[]; revision: number; serverTimeMs: number | undefined }> {
    const listed = await listKumaObjects(this.connection, DATAPLANE_INSIGHTS);
    const states = listed.items.flatMap((item) => {
      const insight = DataplaneInsightObjectSchema.safeParse(item);
      return insight.success && insight.data.mesh === mesh ? [proxyStateOf(insight.data)] : [];
    });
    return { states, revision: revisionNumber(listed.resourceVersion), serverTimeMs: listed.serverTimeMs };
  }

  private async readMeshObject(name: string): Promise<MeshObject | undefined> {
    const raw: unknown = await kubeGet(this.connection, { verb: 'get', resource: 'meshes.kuma.io', name }, () =>
      this.connection.custom.getClusterCustomObject({ group: KUMA_GROUP, version: KUMA_VERSION, plural: MESHES, name }),
    );
    if (raw === undefined) return undefined;
    const parsed = MeshObjectSchema.safeParse(raw);
    if (!parsed.success) throw new KubernetesPermanentError(`mesh "${name}" in the cluster is not a valid Mesh: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data;
  }
}

function readOf(object: MeshObject): KubernetesMeshRead {
  return {
    mesh: meshFromObject(object),
    generation: object.metadata.generation ?? 0,
    resourceVersion: object.metadata.resourceVersion ?? '',
    modifiedAtMs: lastChangedMs(object.metadata),
  };
}
