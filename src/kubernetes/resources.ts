/**
 * Kuma's resources as Kubernetes objects: the cluster-scoped Mesh, the control plane's Secrets, and
 * the namespaced Dataplane / DataplaneInsight. Conversions to the project's Universal shapes.
 */
import { z } from 'zod';
import { DataplaneMtlsSchema, type ProxyState } from '../mesh/insights';
import { KUMA_SECRET_TYPE, MESH_LABEL } from '../mesh/documents';
import { type KubernetesMesh, KubernetesMeshSchema, type Mesh } from '../mesh/schema';
import { KUMA_API_VERSION, fromKubernetesMesh, toKubernetesMesh } from '../mesh/yaml';

export const KUMA_GROUP = 'kuma.io';
export const KUMA_VERSION = 'v1alpha1';
export const MESHES = 'meshes';
export const DATAPLANES = 'dataplanes';
export const DATAPLANE_INSIGHTS = 'dataplaneinsights';
/** Who last changed the Mesh and why (Kubernetes keeps no history of a resource). */
export const LAST_CHANGE_ANNOTATION = 'mesh-ca-rotator.kong.io/last-change';
/**
 * Offline proxies a rotation's write asks the admission webhook to leave out (comma-separated): honoured
 * only on the write that also sets a new LAST_CHANGE_ANNOTATION, and only for proxies offline then.
 */
export const EXCLUDE_OFFLINE_ANNOTATION = 'mesh-ca-rotator.kong.io/exclude-offline';

export const ObjectMetaSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  // Strings in raw JSON; Dates where the client's typed core API has already decoded them.
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  managedFields: z.array(z.looseObject({ time: z.union([z.string(), z.date()]).optional() })).optional(),
});

/** When the object last changed, by the API server's clock (its latest managed-fields entry, 1 s resolution). */
export function lastChangedMs(metadata: z.infer<typeof ObjectMetaSchema>): number | undefined {
  const times = [metadata.creationTimestamp, ...(metadata.managedFields ?? []).map((entry) => entry.time)]
    .map((time) => (time instanceof Date ? time.getTime() : time ? Date.parse(time) : NaN))
    .filter((ms) => Number.isFinite(ms));
  return times.length > 0 ? Math.max(...times) : undefined;
}

export const MeshObjectSchema = KubernetesMeshSchema.extend({ metadata: ObjectMetaSchema });
export type MeshObject = z.infer<typeof MeshObjectSchema>;

export function meshFromObject(object: MeshObject): Mesh {
  const { name, labels } = object.metadata;
  return fromKubernetesMesh({ apiVersion: object.apiVersion, kind: 'Mesh', metadata: labels ? { name, labels } : { name }, spec: object.spec });
}

/** `current` with its spec and labels replaced by `mesh` (its resourceVersion kept, for the precondition). */
export function meshObjectWith(current: MeshObject, mesh: Mesh, annotations: Record<string, string>): MeshObject {
  const desired: KubernetesMesh = toKubernetesMesh(mesh);
  const { labels: _old, ...metadata } = current.metadata;
  return {
    ...current,
    metadata: {
      ...metadata,
      ...(desired.metadata.labels ? { labels: desired.metadata.labels as Record<string, string> } : {}),
      annotations: { ...current.metadata.annotations, ...annotations },
    },
    spec: desired.spec,
  };
}

/** A Mesh to create, as `kubectl apply` would send it. */
export type NewMeshManifest = {
  apiVersion: string;
  kind: 'Mesh';
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
};

export function newMeshObject(mesh: Mesh): NewMeshManifest {
  const desired = toKubernetesMesh(mesh);
  const labels = desired.metadata.labels as Record<string, string> | undefined;
  return { apiVersion: KUMA_API_VERSION, kind: 'Mesh', metadata: { name: mesh.name, ...(labels ? { labels } : {}) }, spec: desired.spec ?? {} };
}

export const SecretObjectSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  type: z.string().optional(),
  data: z.record(z.string(), z.string()).optional(),
});
export type SecretObject = z.infer<typeof SecretObjectSchema>;

/** The mesh a Kuma Secret belongs to, when it is one (type and label as Kuma sets them). */
export function kumaSecretMesh(object: SecretObject): string | undefined {
  if (object.type !== KUMA_SECRET_TYPE) return undefined;
  return object.metadata.labels?.[MESH_LABEL];
}

export interface KumaSecretManifest {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  type: string;
  data: { value: string };
}

export function kumaSecretObject(mesh: string, name: string, namespace: string, base64Value: string): KumaSecretManifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { [MESH_LABEL]: mesh } },
    type: KUMA_SECRET_TYPE,
    data: { value: base64Value },
  };
}

const SubscriptionSchema = z.looseObject({ connectTime: z.string().optional(), disconnectTime: z.string().optional() });

export const DataplaneInsightObjectSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  mesh: z.string().optional(),
  status: z
    .looseObject({
      subscriptions: z.array(SubscriptionSchema).optional(),
      mTLS: DataplaneMtlsSchema.partial().optional(),
    })
    .optional(),
});
export type DataplaneInsightObject = z.infer<typeof DataplaneInsightObjectSchema>;

/** Kuma's name for a proxy on Kubernetes: `<name>.<namespace>`. */
export function proxyName(metadata: { name: string; namespace?: string }): string {
  return metadata.namespace ? `${metadata.name}.${metadata.namespace}` : metadata.name;
}

export function proxyStateOf(insight: DataplaneInsightObject): ProxyState {
  const last = insight.status?.subscriptions?.at(-1);
  const mtls = insight.status?.mTLS;
  return {
    name: proxyName(insight.metadata),
    online: last !== undefined && last.disconnectTime === undefined,
    supportedBackends: mtls?.supportedBackends ?? [],
    ...(mtls?.issuedBackend ? { issuedBackend: mtls.issuedBackend } : {}),
  };
}

/** An etcd revision as the monotonic number the workflow orders acks and snapshots by. */
export function revisionNumber(resourceVersion: string | undefined): number {
  const value = Number(resourceVersion ?? 0);
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}
