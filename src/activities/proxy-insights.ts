/**
 * Proxy state for the gates, read from a control plane's insights under the settle rule:
 *
 *   a proxy's reported state counts only when the server produced it at least `settleMs` after the
 *   mesh last changed (the step was applied): server time of the read >= mesh modificationTime + settleMs.
 *
 * A real kuma-cp writes DataplaneInsight `mTLS` periodically (every 10 s by default,
 * KUMA_XDS_SERVER_DATAPLANE_STATUS_FLUSH_INTERVAL), so right after a step its insights still describe
 * the config before it. Until the rule holds, every proxy is reported with an unknown mTLS state (no
 * supported or issued backend), which no gate accepts. Both times are the server's own (its
 * `modificationTime` and its `Date` header), so clock skew with the worker does not matter; the read
 * of the proxies comes first, so a step applied in between can only make the rule stricter.
 * `settleMs` 0 turns the rule off: the default for our control plane, whose insights are the proxies'
 * own acks, recorded as they arrive.
 */
import type { ProxyState } from '../mesh/insights';
import type { MeshTarget, ProxyReading } from './mesh-target';

/** Kuma's default insight flush interval (10 s) plus its config refresh (1 s) and the `Date` header's whole seconds. */
export const DEFAULT_KUMA_SETTLE_MS = 12_000;

export interface SettledReading {
  proxies: ProxyState[];
  /** Orders this reading against others and against pushed acks: the server's seq, else its clock. */
  seq: number;
  /** False while the rule does not hold yet: `proxies` then carry unknown mTLS states. */
  settled: boolean;
}

export function isSettled(reading: { serverTimeMs?: number }, meshModifiedAtMs: number | undefined, settleMs: number): boolean {
  if (settleMs <= 0) return true;
  if (reading.serverTimeMs === undefined || meshModifiedAtMs === undefined) return false;
  return reading.serverTimeMs >= meshModifiedAtMs + settleMs;
}

/** Applies the settle rule to one reading of a mesh's proxies. Pure. */
export function settleProxyReading(reading: ProxyReading, meshModifiedAtMs: number | undefined, settleMs: number): SettledReading {
  const settled = isSettled(reading, meshModifiedAtMs, settleMs);
  const proxies = settled ? reading.proxies : reading.proxies.map((p) => ({ name: p.name, online: p.online, supportedBackends: [] }));
  return { proxies, seq: reading.seq ?? reading.serverTimeMs ?? 0, settled };
}

/** Reads the proxies, then the mesh (in that order: see above), and applies the settle rule. */
export async function readSettledProxies(target: MeshTarget, mesh: string, settleMs: number): Promise<SettledReading> {
  const reading = await target.readProxies(mesh);
  const current = settleMs > 0 ? await target.getMesh(mesh) : undefined;
  return settleProxyReading(reading, current?.modifiedAtMs, settleMs);
}
