/**
 * The JSON shapes of the Kuma REST API as our control plane serves them and as the client reads any
 * Kuma (real kuma-cp, Kong Mesh, ours): one definition, shared by server and client
 * (docs/control-plane-api.md). Kuma leaves empty fields out of its JSON, so the read side is lenient
 * where Kuma is; our server fills what it has. The error body is in `../mesh/api-error`.
 */
import { z } from 'zod';
import { DataplaneMtlsSchema } from '../mesh/insights';
import { MeshSchema } from '../mesh/schema';

/** `GET /`. Kuma: `{hostname, product, version, instanceId, clusterId, gui, basedOnKuma?}`. */
export const ControlPlaneIndexSchema = z.looseObject({
  product: z.string(),
  version: z.string(),
  tagline: z.string().optional(),
  basedOnKuma: z.string().optional(),
  hostname: z.string().optional(),
  instanceId: z.string().optional(),
  clusterId: z.string().optional(),
  /** Ours only: the extras it offers (see `CONTROL_PLANE_EXTRAS`). A Kuma client ignores the field. */
  meshCaRotator: z.looseObject({ version: z.string(), extras: z.array(z.string()) }).optional(),
});
export type ControlPlaneIndex = z.infer<typeof ControlPlaneIndexSchema>;

/** Extras our control plane can offer beyond the Kuma API, announced in `GET /`. */
export const CONTROL_PLANE_EXTRAS = {
  /** `ETag` mesh versions honoured by `If-Match`, and `GET /meshes/{name}/_history`. */
  meshVersions: 'mesh-versions',
  /** `POST /meshes/{mesh}/certificates/_reissue`. */
  reissue: 'reissue',
  /** Proxy acks relayed to the rotation workflow as `proxyAcks` signals. */
  pushedAcks: 'pushed-acks',
} as const;

/** Fields a Kuma server owns on every resource: returned on GET, ignored on PUT. */
export const SERVER_OWNED_FIELDS = ['creationTime', 'modificationTime', 'kri'] as const;

export function stripServerMeta<T extends object>(resource: T): T {
  const copy = { ...resource } as Record<string, unknown>;
  for (const field of SERVER_OWNED_FIELDS) delete copy[field];
  return copy as T;
}

/** A mesh as served: the Universal JSON plus Kuma's server-owned fields. */
export const ServedMeshSchema = MeshSchema.extend({
  creationTime: z.string().optional(),
  modificationTime: z.string().optional(),
  kri: z.string().optional(),
});

const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), total: z.number().int(), next: z.string().nullable() });

export const MeshListSchema = page(ServedMeshSchema);

export const MeshHistorySchema = z.object({
  items: z.array(
    z.object({ version: z.number().int().positive(), time: z.string(), actor: z.string(), forced: z.boolean(), excluded: z.array(z.string()).default([]), mesh: MeshSchema }),
  ),
});
export type MeshHistory = z.infer<typeof MeshHistorySchema>['items'];

/** Kuma leaves zero counts out: `{"total": 1, "offline": 1}`. */
const CountsSchema = z.object({ total: z.number().int().optional(), online: z.number().int().optional(), offline: z.number().int().optional() });
export const MeshInsightSchema = z.looseObject({
  type: z.literal('MeshInsight'),
  name: z.string(),
  creationTime: z.string().optional(),
  modificationTime: z.string().optional(),
  dataplanes: CountsSchema.optional(),
  mTLS: z
    .looseObject({ issuedBackends: z.record(z.string(), CountsSchema).optional(), supportedBackends: z.record(z.string(), CountsSchema).optional() })
    .optional(),
});
export type MeshInsight = z.infer<typeof MeshInsightSchema>;

/** Tags as served (what was registered passed the stricter TagsSchema of the /dp/v1 contract). */
export const TagsSchema = z.record(z.string(), z.string());

const InboundSchema = z.looseObject({ port: z.number().int().optional(), tags: TagsSchema.optional() });
const NetworkingSchema = z.looseObject({ address: z.string().optional(), inbound: z.array(InboundSchema).optional() });

export const DataplaneSchema = z.looseObject({
  type: z.literal('Dataplane'),
  mesh: z.string(),
  name: z.string(),
  creationTime: z.string().optional(),
  modificationTime: z.string().optional(),
  networking: NetworkingSchema,
});

export type Dataplane = z.infer<typeof DataplaneSchema>;

/**
 * Kuma's DataplaneOverview. `dataplane` holds the spec only (`networking`); `dataplaneInsight` and,
 * inside it, `subscriptions`, `mTLS` and `supportedBackends` are left out while empty. Insight `mTLS`
 * of a real CP records what it generated, flushed every 10 s by default: not a proxy's ack.
 */
export const DataplaneOverviewSchema = z.looseObject({
  type: z.literal('DataplaneOverview'),
  mesh: z.string(),
  name: z.string(),
  creationTime: z.string().optional(),
  modificationTime: z.string().optional(),
  dataplane: z.looseObject({ networking: NetworkingSchema.optional() }).optional(),
  dataplaneInsight: z
    .looseObject({
      subscriptions: z.array(z.looseObject({ connectTime: z.string().optional(), disconnectTime: z.string().optional() })).optional(),
      mTLS: DataplaneMtlsSchema.partial().optional(),
    })
    .optional(),
});
export type DataplaneOverview = z.infer<typeof DataplaneOverviewSchema>;

export const DataplaneOverviewPageSchema = page(DataplaneOverviewSchema);


export const ReissueRequestSchema = z.object({
  after: z.string().nullable().default(null),
  limit: z.number().int().min(1).max(5_000).default(500),
});
/** One page of `_reissue` (ours); the activity adds pages up into `ReissueTotals`. */
export const ReissuePageSchema = z.object({ issued: z.number().int(), skipped: z.number().int(), next: z.string().nullable() });
export type ReissuePage = z.infer<typeof ReissuePageSchema>;

