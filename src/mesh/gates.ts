/**
 * The step gates: when is it safe to take the next step of a rotation? One set of predicates serves
 * both the rotation workflow ("may I go on?") and the control plane's admission ("may a person apply
 * this edit now?"). Pure: safe inside workflow code.
 */
import type { Mesh } from './schema';
import type { ProxyState } from './insights';

export const ROTATION_STEPS = ['add-backend', 'switch-enabled', 'remove-old'] as const;
export type RotationStepName = (typeof ROTATION_STEPS)[number];

/** How many stragglers a gate names; the rest are counted. */
export const PENDING_LIMIT = 20;

export interface GateResult {
  satisfied: boolean;
  /** Proxies the gate counts (online ones, minus excluded). */
  total: number;
  done: number;
  /** Names of the first proxies that have not yet passed, sorted, at most PENDING_LIMIT. */
  pending: string[];
}

/** Has this proxy completed `step` of a rotation from backend `from` to backend `to`? */
export function proxyPassed(step: RotationStepName, from: string, to: string, proxy: ProxyState): boolean {
  switch (step) {
    case 'add-backend':
      // It trusts the new CA, so a peer's certificate from the new CA will be accepted.
      return proxy.supportedBackends.includes(to);
    case 'switch-enabled':
      // Its identity certificate comes from the new CA.
      return proxy.issuedBackend === to;
    case 'remove-old':
      // It trusts only the new CA, and (still) presents a certificate from it.
      return !proxy.supportedBackends.includes(from) && proxy.supportedBackends.includes(to) && proxy.issuedBackend === to;
  }
}

export interface GateOptions {
  /** Proxies excluded by the offline-proxy policy; they are neither waited for nor counted. */
  excluded?: ReadonlySet<string>;
  /** Count offline proxies too (the `wait` policy). Default true: an offline proxy is waited for. */
  countOffline?: boolean;
}

export function evaluateGate(
  step: RotationStepName,
  from: string,
  to: string,
  proxies: Iterable<ProxyState>,
  options: GateOptions = {},
): GateResult {
  const countOffline = options.countOffline ?? true;
  let total = 0;
  let done = 0;
  const pending: string[] = [];
  for (const proxy of proxies) {
    if (options.excluded?.has(proxy.name)) continue;
    if (!proxy.online && !countOffline) continue;
    total++;
    if (proxyPassed(step, from, to, proxy)) done++;
    else pending.push(proxy.name);
  }
  pending.sort();
  return { satisfied: done === total, total, done, pending: pending.slice(0, PENDING_LIMIT) };
}

export type AdmissionResult =
  | { allowed: true }
  | { allowed: false; reason: string; pending: string[] };

/**
 * Kuma's "validators so we won't execute the next step too soon", against live insights:
 * - switching `enabledBackend` to B requires every online proxy to trust B already;
 * - removing backend X requires that no online proxy still holds a certificate from X.
 * Offline proxies do not block: they receive the current bundle and a fresh certificate on reconnect.
 */
export function admitMeshChange(current: Mesh | undefined, proposed: Mesh, proxies: readonly ProxyState[]): AdmissionResult {
  if (!current) return { allowed: true };
  const online = proxies.filter((p) => p.online);
  const before = current.mtls?.enabledBackend;
  const after = proposed.mtls?.enabledBackend;
  if (after && before && after !== before) {
    const gate = evaluateGate('add-backend', before, after, online);
    if (!gate.satisfied) {
      return {
        allowed: false,
        reason: `cannot switch enabledBackend to "${after}": ${gate.total - gate.done} of ${gate.total} data plane proxies do not trust it yet`,
        pending: gate.pending,
      };
    }
  }
  const kept = new Set((proposed.mtls?.backends ?? []).map((b) => b.name));
  for (const removed of (current.mtls?.backends ?? []).map((b) => b.name).filter((n) => !kept.has(n))) {
    const holders = online.filter((p) => p.issuedBackend === removed).map((p) => p.name).sort();
    if (holders.length > 0) {
      return {
        allowed: false,
        reason: `cannot remove backend "${removed}": ${holders.length} data plane proxies still hold a certificate issued by it`,
        pending: holders.slice(0, PENDING_LIMIT),
      };
    }
  }
  return { allowed: true };
}
