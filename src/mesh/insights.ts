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
  /** Connected to the control plane. A proxy that is not may still be serving: the gates count it all the same. */
  online: boolean;
  supportedBackends: readonly string[];
  issuedBackend?: string;
  /** When the last identity certificate the control plane gave it expires (ISO 8601); after that it cannot serve mTLS. */
  certificateExpiresAt?: string;
}

/**
 * Proxies that share one mTLS state, listed by name. Acks and snapshots group proxies this way so a
 * payload for 10,000 proxies in the same state is little more than their names.
 */
export const ProxyStateGroupSchema = z.object({
  online: z.boolean(),
  supportedBackends: z.array(z.string()),
  issuedBackend: z.string().optional(),
  /** The latest certificate expiry of the group's proxies, rounded up to the minute (so few groups form). */
  certificateExpiresAt: z.string().optional(),
  names: z.array(z.string()),
});
export type ProxyStateGroup = z.infer<typeof ProxyStateGroupSchema>;

/**
 * Acks relayed by the control plane to the mesh's rotation workflow, batched into one signal.
 * `seq` is the mesh's insight sequence number after these acks were recorded (monotonic, persisted),
 * so the workflow can drop duplicates and order them against snapshots. Never carries key material.
 */
export const ProxyAckBatchSchema = z.object({
  mesh: z.string(),
  seq: z.number().int().nonnegative(),
  groups: z.array(ProxyStateGroupSchema),
  /** Names of proxies that left the mesh. */
  removed: z.array(z.string()).default([]),
});
export type ProxyAckBatch = z.infer<typeof ProxyAckBatchSchema>;

/** Every proxy of a mesh as of insight sequence number `asOfSeq` (0 when the control plane has none). */
export const ProxySnapshotSchema = z.object({
  mesh: z.string(),
  asOfSeq: z.number().int().nonnegative(),
  groups: z.array(ProxyStateGroupSchema),
});
export type ProxySnapshot = z.infer<typeof ProxySnapshotSchema>;

/** What tells two proxy states apart for the gates: connected or not, trusted backends (any order), issuing backend. */
export function proxyStateKey(state: Pick<ProxyState, 'online' | 'supportedBackends' | 'issuedBackend'>): string {
  return `${state.online}|${[...state.supportedBackends].sort().join(',')}|${state.issuedBackend ?? ''}`;
}

/**
 * Groups proxy states by identical (online, supported, issued, expiry minute) state. Expiry is rounded
 * up to the minute: a proxy is then believed able to serve a little longer, never shorter.
 */
export function groupProxyStates(states: Iterable<ProxyState>): ProxyStateGroup[] {
  const groups = new Map<string, ProxyStateGroup>();
  for (const state of states) {
    const supported = [...state.supportedBackends].sort();
    const expiresAt = expiryMinute(state.certificateExpiresAt);
    const key = `${proxyStateKey(state)}|${expiresAt ?? ''}`;
    let group = groups.get(key);
    if (!group) {
      group = { online: state.online, supportedBackends: supported, issuedBackend: state.issuedBackend, names: [] };
      if (expiresAt !== undefined) group.certificateExpiresAt = expiresAt;
      groups.set(key, group);
    }
    group.names.push(state.name);
  }
  return [...groups.values()];
}

export function* ungroupProxyStates(groups: Iterable<ProxyStateGroup>): Generator<ProxyState> {
  for (const group of groups) {
    for (const name of group.names) {
      const state: ProxyState = { name, online: group.online, supportedBackends: group.supportedBackends, issuedBackend: group.issuedBackend };
      if (group.certificateExpiresAt !== undefined) state.certificateExpiresAt = group.certificateExpiresAt;
      yield state;
    }
  }
}

const MINUTE_MS = 60_000;

function expiryMinute(expiresAt: string | undefined): string | undefined {
  if (expiresAt === undefined) return undefined;
  const ms = Date.parse(expiresAt);
  // Unreadable: keep it as given (the gate then treats the proxy as able to serve).
  if (Number.isNaN(ms)) return expiresAt;
  return new Date(Math.ceil(ms / MINUTE_MS) * MINUTE_MS).toISOString();
}

/** Name of the signal that carries ProxyAckBatch to workflow `ca-rotation/<mesh>`. */
export const PROXY_ACKS_SIGNAL = 'proxyAcks';

export function rotationWorkflowId(mesh: string): string {
  return `ca-rotation/${mesh}`;
}
