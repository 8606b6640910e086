/**
 * The settle rule: when a control plane's insights count as a proxy's state after a mesh change.
 *
 *   a proxy's reported state counts only when the server observed it at least `settleMs` after the
 *   mesh last changed: observed-at >= mesh modification time + settleMs (both by the server's clock).
 *
 * A real kuma-cp writes DataplaneInsight `mTLS` periodically (KUMA_XDS_SERVER_DATAPLANE_STATUS_FLUSH_INTERVAL),
 * so right after a step its insights may still describe the config before it, or a config generated but
 * not yet delivered. Until the rule holds a proxy is taken with an unknown mTLS state (no supported or
 * issued backend), which no gate accepts. `settleMs` 0 turns the rule off: right for our control plane,
 * whose insights are the proxies' own acks, recorded as they arrive. Pure.
 */
import type { ProxyState } from './insights';

/** Kuma's default insight flush interval plus its config refresh and the whole seconds of server timestamps (docs/kong-mesh.md). */
export const DEFAULT_KUMA_SETTLE_MS = 12_000;

export function isSettled(observedAtMs: number | undefined, meshModifiedAtMs: number | undefined, settleMs: number): boolean {
  if (settleMs <= 0) return true;
  if (observedAtMs === undefined || meshModifiedAtMs === undefined) return false;
  return observedAtMs >= meshModifiedAtMs + settleMs;
}

/** The proxy as the gates must see it while the rule does not hold: connected or not, mTLS unknown. */
export function withUnknownMtls(proxy: ProxyState): ProxyState {
  return { name: proxy.name, online: proxy.online, supportedBackends: [] };
}
