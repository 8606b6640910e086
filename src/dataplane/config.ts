/** The data plane side of the control plane contract (docs/control-plane-api.md), as zod schemas. */
import { z } from 'zod';

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'SHA-256 fingerprint, hex lower case');

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

export interface ProxyRegistration {
  mesh: string;
  name: string;
  address: string;
  port: number;
  tags: Record<string, string>;
  csr: string;
}

export interface RegisterProxiesRequest {
  host: string;
  proxies: ProxyRegistration[];
}

export interface ProxyAckMessage {
  mesh: string;
  name: string;
  version: number;
  trustedRootFingerprints: string[];
  certificateIssuerFingerprint: string | null;
}
