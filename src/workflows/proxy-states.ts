/**
 * What the rotation knows about each proxy, merged from two sources: the `proxyAcks` signal batches
 * and the snapshots the workflow reads itself (the safety net against lost signals). Both carry the
 * mesh's insight sequence number, so late or repeated news never overwrites newer news. Also the one
 * place that decides which proxies a gate may leave out. Pure: no workflow APIs, time is passed in.
 */
import { evaluateGate, type GateResult, type RotationStepName } from '../mesh/gates';
import { ungroupProxyStates, type ProxyAckBatch, type ProxySnapshot, type ProxyState } from '../mesh/insights';
import type { OfflineProxyPolicy } from './messages';

export class ProxyStates {
  private readonly known = new Map<string, { state: ProxyState; seq: number }>();
  /** Workflow time each proxy was first seen offline; see `trackOfflineIn`. */
  private offlineSince: Record<string, number> = {};
  /** How many proxies the last gate left out. */
  excludedCount = 0;

  constructor(private readonly policy: OfflineProxyPolicy) {}

  /** Offline times are kept in `record` (part of the carried state) so they survive continue-as-new. */
  trackOfflineIn(record: Record<string, number>): void {
    this.offlineSince = record;
  }

  /** Acks (and departures) newer than what is known about each proxy. */
  mergeAcks(batch: ProxyAckBatch): void {
    for (const proxy of ungroupProxyStates(batch.groups)) {
      const known = this.known.get(proxy.name);
      if (!known || known.seq < batch.seq) this.known.set(proxy.name, { state: proxy, seq: batch.seq });
    }
    for (const name of batch.removed) {
      const known = this.known.get(name);
      if (!known || known.seq < batch.seq) this.known.delete(name);
    }
  }

  /** Every proxy as of the snapshot's sequence number; a proxy missing from it has left, unless newer acks say otherwise. */
  mergeSnapshot(snapshot: ProxySnapshot): void {
    const seen = new Set<string>();
    for (const proxy of ungroupProxyStates(snapshot.groups)) {
      seen.add(proxy.name);
      const known = this.known.get(proxy.name);
      if (!known || known.seq <= snapshot.asOfSeq) this.known.set(proxy.name, { state: proxy, seq: snapshot.asOfSeq });
    }
    for (const [name, known] of this.known) {
      if (!seen.has(name) && known.seq <= snapshot.asOfSeq) this.known.delete(name);
    }
  }

  /**
   * The gate over the known proxies at workflow time `now`: every proxy that may still be serving
   * counts, online or not (see `mayStillServe`), except those the operator's offline policy leaves out.
   */
  evaluate(gate: { step: RotationStepName; from: string; to: string }, now: number): GateResult {
    const states = [...this.known.values()].map((p) => p.state);
    return evaluateGate(gate.step, gate.from, gate.to, states, { excluded: this.leftOut(now), nowMs: now });
  }

  /** The proxies the offline policy leaves out at workflow time `now`, sorted. */
  excluded(now: number): string[] {
    return [...this.leftOut(now)].sort();
  }

  /** The offline rule: with the `exclude` policy, a proxy offline for `afterMs` no longer holds the gate. */
  private leftOut(now: number): Set<string> {
    const excluded = new Set<string>();
    for (const [name, known] of this.known) {
      if (known.state.online) {
        delete this.offlineSince[name];
        continue;
      }
      const since = (this.offlineSince[name] ??= now);
      if (this.policy.mode === 'exclude' && now - since >= this.policy.afterMs) excluded.add(name);
    }
    for (const name of Object.keys(this.offlineSince)) if (!this.known.has(name)) delete this.offlineSince[name];
    this.excludedCount = excluded.size;
    return excluded;
  }
}
