/** The JSON shapes of the control plane API (docs/control-plane-api.md), shared by server and client. */
import { z } from 'zod';
import { DataplaneMtlsSchema } from '../mesh/insights';
import { MeshSchema } from '../mesh/schema';

export const ErrorCauseSchema = z.object({ field: z.string(), message: z.string() });
export type ErrorCause = z.infer<typeof ErrorCauseSchema>;

export const ErrorBodySchema = z.looseObject({
  title: z.string(),
  details: z.string().optional(),
  causes: z.array(ErrorCauseSchema).optional(),
  pending: z.array(z.string()).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** A mesh as served: the stored Universal JSON plus Kuma's timestamps. */
export const ServedMeshSchema = MeshSchema.extend({
  creationTime: z.string().optional(),
  modificationTime: z.string().optional(),
});

export const MeshListSchema = z.object({ items: z.array(ServedMeshSchema), total: z.number().int(), next: z.string().nullable() });

export const MeshHistorySchema = z.object({
  items: z.array(z.object({ version: z.number().int().positive(), time: z.string(), actor: z.string(), forced: z.boolean(), mesh: MeshSchema })),
});
export type MeshHistory = z.infer<typeof MeshHistorySchema>['items'];

const BackendCountsSchema = z.object({ total: z.number().int(), online: z.number().int(), offline: z.number().int() });
export const MeshInsightSchema = z.object({
  type: z.literal('MeshInsight'),
  name: z.string(),
  dataplanes: BackendCountsSchema,
  mTLS: z.object({ issuedBackends: z.record(z.string(), BackendCountsSchema), supportedBackends: z.record(z.string(), BackendCountsSchema) }),
});
export type MeshInsight = z.infer<typeof MeshInsightSchema>;

export const TagsSchema = z.record(z.string(), z.string());

export const DataplaneSchema = z.object({
  type: z.literal('Dataplane'),
  mesh: z.string(),
  name: z.string(),
  networking: z.object({ address: z.string(), inbound: z.array(z.object({ port: z.number().int(), tags: TagsSchema })) }),
});

export const DataplaneListSchema = z.object({ items: z.array(DataplaneSchema), total: z.number().int(), next: z.string().nullable() });

export const DataplaneOverviewSchema = z.object({
  type: z.literal('DataplaneOverview'),
  mesh: z.string(),
  name: z.string(),
  dataplane: DataplaneSchema,
  dataplaneInsight: z.object({
    subscriptions: z.array(z.object({ connectTime: z.string().optional(), disconnectTime: z.string().optional() })),
    mTLS: DataplaneMtlsSchema,
  }),
});
export type DataplaneOverview = z.infer<typeof DataplaneOverviewSchema>;

export const DataplaneOverviewPageSchema = z.object({ items: z.array(DataplaneOverviewSchema), total: z.number().int(), next: z.string().nullable() });

export const SecretListSchema = z.object({
  items: z.array(z.object({ type: z.literal('Secret'), mesh: z.string(), name: z.string(), creationTime: z.string(), modificationTime: z.string() })),
  total: z.number().int(),
  next: z.string().nullable(),
});

export const ReissueRequestSchema = z.object({
  after: z.string().nullable().default(null),
  limit: z.number().int().min(1).max(5_000).default(500),
});
export const ReissueResultSchema = z.object({ issued: z.number().int(), skipped: z.number().int(), next: z.string().nullable() });

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 fingerprint: 64 lower-case hex digits');
const ResourceName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and hold only letters, digits, ".", "_" and "-"');

export const RegisterProxiesSchema = z.object({
  host: z.string().min(1).max(253),
  proxies: z
    .array(
      z.object({
        mesh: ResourceName,
        name: ResourceName,
        address: z.string().min(1),
        port: z.number().int().min(1).max(65_535),
        tags: TagsSchema.refine((tags) => Boolean(tags['kuma.io/service']), 'must hold a "kuma.io/service" tag'),
        csr: z.string().includes('-----BEGIN CERTIFICATE REQUEST-----', { message: 'must be a PEM certificate request' }),
      }),
    )
    .max(20_000),
});

export const AcksSchema = z.object({
  acks: z
    .array(
      z.object({
        mesh: z.string().min(1),
        name: z.string().min(1),
        version: z.number().int().nonnegative(),
        trustedRootFingerprints: z.array(Sha256Hex),
        certificateIssuerFingerprint: Sha256Hex.nullable(),
      }),
    )
    .max(20_000),
});

export { ResourceName };
