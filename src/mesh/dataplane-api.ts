/**
 * The wire contract between the control plane and its data plane proxies (`/dp/v1`, standing in for
 * xDS): registration, config events on the stream, acks. Defined once here, where both sides may
 * import it. Pure.
 */
import { z } from 'zod';

/** A Kuma resource name as it may appear in a path: what both sides accept for meshes and proxies. */
export const ResourceName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and hold only letters, digits, ".", "_" and "-"');

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 fingerprint: 64 lower-case hex digits');

export const SERVICE_TAG = 'kuma.io/service';
export const MAX_TAGS = 64;
export const MAX_TAG_KEY = 253;
export const MAX_TAG_VALUE = 253;
/** Kuma's tag charsets (a tag ends up in SANs, logs and metric labels: no spaces or control characters). */
const TagKey = z.string().min(1).max(MAX_TAG_KEY).regex(/^[a-zA-Z0-9./_:-]+$/, 'tag keys hold only letters, digits and "." "/" "_" ":" "-"');
const TagValue = z.string().min(1).max(MAX_TAG_VALUE).regex(/^[a-zA-Z0-9.:_-]+$/, 'tag values hold only letters, digits and "." "_" ":" "-"');

export const TagsSchema = z
  .record(TagKey, TagValue)
  .refine((tags) => Object.keys(tags).length <= MAX_TAGS, `at most ${MAX_TAGS} tags`)
  .refine((tags) => Boolean(tags[SERVICE_TAG]), `must hold a "${SERVICE_TAG}" tag`);

/** A host id names one data plane host's stream; its credential binds it. */
export const HostId = z.string().min(1).max(253).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const ProxyRegistrationSchema = z.object({
  mesh: ResourceName,
  name: ResourceName,
  /** An IP address or a DNS name. */
  address: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9.:_-]+$/, 'must be an IP address or a host name'),
  port: z.number().int().min(1).max(65_535),
  tags: TagsSchema,
  csr: z.string().max(16_384).includes('-----BEGIN CERTIFICATE REQUEST-----', { message: 'must be a PEM certificate request' }),
});
export type ProxyRegistration = z.infer<typeof ProxyRegistrationSchema>;

export const MAX_PROXIES_PER_REQUEST = 20_000;

export const RegisterProxiesSchema = z.object({
  host: HostId,
  proxies: z.array(ProxyRegistrationSchema).max(MAX_PROXIES_PER_REQUEST),
});
export type RegisterProxiesRequest = z.infer<typeof RegisterProxiesSchema>;

export const ProxyAckSchema = z.object({
  mesh: ResourceName,
  name: ResourceName,
  version: z.number().int().nonnegative(),
  trustedRootFingerprints: z.array(Sha256Hex).max(64),
  certificateIssuerFingerprint: Sha256Hex.nullable(),
});
export type ProxyAckMessage = z.infer<typeof ProxyAckSchema>;

export const AcksSchema = z.object({ acks: z.array(ProxyAckSchema).max(MAX_PROXIES_PER_REQUEST) });

export const TrustBundleEntrySchema = z.object({
  backend: z.string(),
  pem: z.string().min(1),
  fingerprint: Sha256Hex.optional(),
});
export type TrustBundleEntry = z.infer<typeof TrustBundleEntrySchema>;

export const IdentityCertificateSchema = z.object({
  pem: z.string().min(1),
  chain: z.array(z.string()).default([]),
  backend: z.string().optional(),
  expiresAt: z.string().optional(),
});
export type IdentityCertificate = z.infer<typeof IdentityCertificateSchema>;

/** One SSE event of `GET /dp/v1/stream`: the complete current config of one proxy. */
export const ProxyConfigEventSchema = z.object({
  mesh: z.string().min(1),
  name: z.string().min(1),
  version: z.number().int().nonnegative(),
  trustBundle: z.array(TrustBundleEntrySchema),
  certificate: IdentityCertificateSchema.nullable(),
});
export type ProxyConfigEvent = z.infer<typeof ProxyConfigEventSchema>;

/**
 * What a data plane credential is bound to (signed into the token by the control plane): one mesh,
 * one host's stream, its proxies by exact name or name prefix, and the services they may claim.
 */
export const DataplaneBindingSchema = z
  .object({
    mesh: ResourceName,
    host: HostId,
    names: z.array(ResourceName).max(10_000).optional(),
    namePrefix: z.string().min(1).max(200).optional(),
    services: z.array(z.string().min(1).max(253)).min(1).max(1_000),
  })
  .refine((b) => b.names !== undefined || b.namePrefix !== undefined, { message: 'names or namePrefix is required', path: ['names'] });
export type DataplaneBinding = z.infer<typeof DataplaneBindingSchema>;
