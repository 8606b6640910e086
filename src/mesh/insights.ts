/**
 * What the control plane knows about each data plane proxy's mTLS state, as Kuma's
 * `dataplanes+insights` reports it. Pure.
 */
import { z } from 'zod';

export const DataplaneMtlsSchema = z.object({
  /** Backend whose CA signed the proxy's current identity certificate (from the certificate, not the proxy's word). */
  issuedBackend: z.string().optional(),
  /** Backends whose roots the proxy has applied to its trust bundle. */
  supportedBackends: z.array(z.string()),
  certificateExpirationTime: z.string().optional(),
  lastCertificateRegeneration: z.string().optional(),
  certificateRegenerations: z.number().int().nonnegative().optional(),
});
export type DataplaneMtls = z.infer<typeof DataplaneMtlsSchema>;

/** The part of a proxy's state the gates read. */
export interface ProxyState {
  name: string;
  online: boolean;
  supportedBackends: readonly string[];
  issuedBackend?: string;
}

/**
 * An ack relayed by the control plane to the mesh's rotation workflow (batched into one signal).
 * Carries only names and fingerprint-derived facts: never key material.
 */
export const ProxyAckSchema = z.object({
  name: z.string(),
  online: z.boolean(),
  supportedBackends: z.array(z.string()),
  issuedBackend: z.string().optional(),
});
export type ProxyAck = z.infer<typeof ProxyAckSchema>;

export const ProxyAckBatchSchema = z.object({
  mesh: z.string(),
  /** Names of proxies that left the mesh since the last batch. */
  removed: z.array(z.string()).default([]),
  acks: z.array(ProxyAckSchema),
});
export type ProxyAckBatch = z.infer<typeof ProxyAckBatchSchema>;

/** Name of the signal that carries ProxyAckBatch to workflow `ca-rotation/<mesh>`. */
export const PROXY_ACKS_SIGNAL = 'proxyAcks';

export function rotationWorkflowId(mesh: string): string {
  return `ca-rotation/${mesh}`;
}
