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
  /** Proxies the gate counts: every proxy that may still be serving, online or not, minus excluded ones. */
  total: number;
  done: number;
  /** Names of the first proxies that have not yet passed, sorted, at most PENDING_LIMIT. */
  pending: string[];
  /** Of the proxies not yet passed, how many are offline (waited for: they may still be serving). */
  pendingOffline: number;
  /** Not counted because an operator excluded them (by name, or by the workflow's offline policy). */
  excluded: number;
  /** Not counted because the last certificate the control plane gave them has expired. */
  expired: number;
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
  /**
   * Proxies an operator excluded: by the workflow's offline policy or by name on a mesh edit. They are
   * neither waited for nor counted (and the caller records the exclusion).
   */
  excluded?: ReadonlySet<string>;
  /**
   * When the gate is evaluated (ms since the epoch). A proxy whose last certificate expired before then
   * cannot complete an mTLS handshake any more and stops counting. Without it, expiry releases no proxy.
   */
  nowMs?: number;
}

/**
 * The one rule for "may still be serving": a proxy serves with the trust and certificate it last
 * applied until that certificate expires, whether or not it is connected to the control plane (Envoy
 * keeps its last config when its stream drops). Online or offline makes no difference here.
 */
export function mayStillServe(proxy: ProxyState, nowMs: number | undefined): boolean {
  if (nowMs === undefined || proxy.certificateExpiresAt === undefined) return true;
  const expiresAt = Date.parse(proxy.certificateExpiresAt);
  return Number.isNaN(expiresAt) || expiresAt > nowMs;
}

export function evaluateGate(
  step: RotationStepName,
  from: string,
  to: string,
  proxies: Iterable<ProxyState>,
  options: GateOptions = {},
): GateResult {
  let total = 0;
  let done = 0;
  let pendingOffline = 0;
  let excluded = 0;
  let expired = 0;
  const pending: string[] = [];
  for (const proxy of proxies) {
    if (options.excluded?.has(proxy.name)) {
      excluded++;
    } else if (proxyPassed(step, from, to, proxy)) {
      total++;
      done++;
    } else if (!mayStillServe(proxy, options.nowMs)) {
      expired++;
    } else {
      total++;
      pending.push(proxy.name);
      if (!proxy.online) pendingOffline++;
    }
  }
  pending.sort();
  return { satisfied: done === total, total, done, pending: pending.slice(0, PENDING_LIMIT), pendingOffline, excluded, expired };
}

export type AdmissionResult =
  | { allowed: true }
  | { allowed: false; reason: string; pending: string[] };

/**
 * Kuma's "validators so we won't execute the next step too soon", against live insights, with the same
 * rule as the workflow's gates (every proxy that may still be serving counts, online or not):
 * - switching `enabledBackend` to B requires every such proxy to trust B already;
 * - removing backend X requires that no such proxy still holds a certificate from X.
 * `excluded` names proxies the operator left out of this edit (recorded in the mesh's history).
 */
export function admitMeshChange(current: Mesh | undefined, proposed: Mesh, proxies: readonly ProxyState[], options: GateOptions = {}): AdmissionResult {
  if (!current) return { allowed: true };
  const before = current.mtls?.enabledBackend;
  const after = proposed.mtls?.enabledBackend;
  if (after && before && after !== before) {
    const gate = evaluateGate('add-backend', before, after, proxies, options);
    if (!gate.satisfied) {
      return {
        allowed: false,
        reason: `cannot switch enabledBackend to "${after}": ${gate.total - gate.done} of ${gate.total} data plane proxies do not trust it yet${offlineNote(gate.pendingOffline)}`,
        pending: gate.pending,
      };
    }
  }
  const kept = new Set((proposed.mtls?.backends ?? []).map((b) => b.name));
  const counted = proxies.filter((p) => !options.excluded?.has(p.name) && mayStillServe(p, options.nowMs));
  for (const removed of (current.mtls?.backends ?? []).map((b) => b.name).filter((n) => !kept.has(n))) {
    const holders = counted.filter((p) => p.issuedBackend === removed);
    if (holders.length > 0) {
      return {
        allowed: false,
        reason: `cannot remove backend "${removed}": ${holders.length} data plane proxies still hold a certificate issued by it${offlineNote(holders.filter((p) => !p.online).length)}`,
        pending: holders.map((p) => p.name).sort().slice(0, PENDING_LIMIT),
      };
    }
  }
  return { allowed: true };
}

function offlineNote(offline: number): string {
  return offline > 0
    ? ` (${offline} of them offline: a proxy that lost its control plane keeps serving until its certificate expires; exclude it by name if it is gone)`
    : '';
}
