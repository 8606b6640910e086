/**
 * Proxy state for the gates, read from a control plane's insights under the settle rule
 * (src/mesh/settle.ts). For a reading, the server's time is its `Date` header and the mesh's is its
 * `modificationTime`, so clock skew with the worker does not matter; the read of the proxies comes
 * first, so a step applied in between can only make the rule stricter.
 */
import type { ProxyState } from '../mesh/insights';
import { isSettled, withUnknownMtls } from '../mesh/settle';
import type { MeshTarget, ProxyReading } from './mesh-target';

export interface SettledReading {
  proxies: ProxyState[];
  /** Orders this reading against others and against pushed acks: the server's seq, else its clock. */
  seq: number;
  /** False while the rule does not hold yet: `proxies` then carry unknown mTLS states. */
  settled: boolean;
}

/** Applies the settle rule to one reading of a mesh's proxies. Pure. */
export function settleProxyReading(reading: ProxyReading, meshModifiedAtMs: number | undefined, settleMs: number): SettledReading {
  const settled = isSettled(reading.serverTimeMs, meshModifiedAtMs, settleMs);
  const proxies = settled ? reading.proxies : reading.proxies.map(withUnknownMtls);
  return { proxies, seq: reading.seq ?? reading.serverTimeMs ?? 0, settled };
}

/** Reads the proxies, then the mesh (in that order: see above), and applies the settle rule. */
export async function readSettledProxies(target: MeshTarget, mesh: string, settleMs: number): Promise<SettledReading> {
  const reading = await target.readProxies(mesh);
  const current = settleMs > 0 ? await target.getMesh(mesh) : undefined;
  return settleProxyReading(reading, current?.modifiedAtMs, settleMs);
}
