/**
 * The proxies' acks in Kubernetes mode: a watch of every DataplaneInsight (not a poll), fed into the
 * same batching relay our control plane uses, so the rotation workflow gets the one `proxyAcks` signal
 * whatever the mode. `seq` is the etcd revision of the change, which orders signals and snapshots.
 *
 * Under the settle rule (src/mesh/settle.ts; `settleMs` > 0, as against kuma-cp, whose insights are
 * flushed periodically) an insight counts only when the API server wrote it at least `settleMs` after
 * its Mesh last changed: a watch event by the insight's own write time, a listing by the server's
 * clock. The Mesh is read after the insights arrived (a read at least as new as them: a change the
 * watch has not shown yet cannot be missed), once per mesh for every batch of events. A proxy whose
 * insight does not count yet is sent with an unknown mTLS state; once the window has passed a
 * listing sends what its insight says then, so it need not be written again.
 */
import { AckRelay, type ProxyChange, type ProxyChangeSink, type TemporalTarget } from '../controlplane/ack-relay';
import { type ProxyState, proxyStateKey } from '../mesh/insights';
import { isSettled, withUnknownMtls } from '../mesh/settle';
import { errorMessage } from '../mesh/errors';
import { type KubernetesConnection, listKumaObjects } from './connection';
import { ListWatch } from './list-watch';
import { KubernetesMeshTarget } from './mesh-target';
import { DATAPLANE_INSIGHTS, type DataplaneInsightObject, DataplaneInsightObjectSchema, KUMA_GROUP, KUMA_VERSION, lastChangedMs, proxyStateOf, revisionNumber } from './resources';

interface KnownProxy {
  mesh: string;
  /** What the workflow was last sent (unknown mTLS while the settle rule does not hold). */
  state: ProxyState;
}

/** Insights to judge: as of `revision`, vouched for by the server at `observedAtMs` (their write time, or a listing's). */
interface Arrival {
  items: DataplaneInsightObject[];
  revision: number;
  observedAtMs: number | undefined;
  /** Send only proxies whose state differs from what was sent (a re-check after the window). */
  onlyChanges: boolean;
  /** A whole listing: known proxies missing from it have left. */
  complete?: boolean;
  /** A deletion: in the same queue as changes, so it is never overtaken by an older change. */
  removed?: DataplaneInsightObject;
}

export interface InsightWatcherOptions {
  connection: KubernetesConnection;
  temporal: TemporalTarget;
  log: (line: string) => void;
  /** The settle rule's window; 0 (insights that are the proxies' acks, as our control plane writes them) turns it off. */
  settleMs: number;
  /** Where the acks go instead of Temporal (tests record them here). */
  sink?: (converged: (mesh: string) => boolean) => ProxyChangeSink;
}

/** A re-check finds the server's clock short of the window (its timestamps have whole seconds): try again after this. */
const SETTLE_RECHECK_MS = 1_000;
const SETTLE_RECHECK_LIMIT = 30;
const WARN_EVERY_MS = 30_000;

export class KubernetesInsightWatcher {
  private readonly known = new Map<string, KnownProxy>();
  private readonly relay: ProxyChangeSink;
  private readonly watch: ListWatch<DataplaneInsightObject>;
  private readonly meshes: KubernetesMeshTarget;
  private readonly arrivals: Arrival[] = [];
  private judging: Promise<void> | undefined;
  private readonly settleChecks = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private lastWarning = 0;

  constructor(private readonly options: InsightWatcherOptions) {
    const converged = (mesh: string) => this.converged(mesh);
    this.relay = options.sink?.(converged) ?? new AckRelay(options.temporal, options.log, converged);
    const { connection } = options;
    this.meshes = new KubernetesMeshTarget(connection);
    this.watch = new ListWatch({
      connection,
      what: 'dataplaneinsights.kuma.io',
      path: `/apis/${KUMA_GROUP}/${KUMA_VERSION}/${DATAPLANE_INSIGHTS}`,
      schema: DataplaneInsightObjectSchema,
      list: () => listKumaObjects(connection, DATAPLANE_INSIGHTS),
      onEvent: (type, item, revision) =>
        this.arrived(
          type === 'DELETED'
            ? { items: [], removed: item, revision, observedAtMs: undefined, onlyChanges: false }
            : { items: [item], revision, observedAtMs: lastChangedMs(item.metadata), onlyChanges: false },
        ),
      onSync: (items, revision, serverTimeMs) => this.arrived({ items, revision, observedAtMs: serverTimeMs, onlyChanges: false, complete: true }),
      log: options.log,
    });
  }

  get synced(): Promise<void> {
    return this.watch.synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.settleChecks.values()) clearTimeout(timer);
    this.settleChecks.clear();
    await this.watch.stop();
    await this.judging;
    await this.relay.stop();
  }

  private arrived(arrival: Arrival): void {
    if (this.options.settleMs <= 0) {
      this.send(arrival, new Map());
      return;
    }
    this.arrivals.push(arrival);
    this.judging ??= this.judgeArrivals().finally(() => (this.judging = undefined));
  }

  /** Judges what arrived, in order, reading each mesh once per round; events arriving meanwhile wait for the next round. */
  private async judgeArrivals(): Promise<void> {
    while (this.arrivals.length > 0 && !this.stopped) {
      const round = this.arrivals.splice(0);
      const changedAt = new Map<string, number | undefined>();
      for (const mesh of new Set(round.flatMap((arrival) => arrival.items.flatMap((item) => (item.mesh ? [item.mesh] : []))))) {
        try {
          changedAt.set(mesh, (await this.meshes.getMesh(mesh))?.modifiedAtMs);
        } catch (err) {
          // Not known: its proxies count as unknown until a later read succeeds.
          changedAt.set(mesh, undefined);
          this.warn(`insight watcher: cannot read mesh "${mesh}" for the settle rule: ${errorMessage(err)}`);
        }
      }
      for (const arrival of round) this.send(arrival, changedAt);
    }
  }

  private send(arrival: Arrival, meshChangedAt: ReadonlyMap<string, number | undefined>): void {
    if (arrival.removed) {
      this.removed(arrival.removed, arrival.revision);
      return;
    }
    if (arrival.complete) {
      const present = new Set(arrival.items.map((item) => proxyStateOf(item).name));
      for (const [name, proxy] of this.known) {
        if (present.has(name)) continue;
        this.known.delete(name);
        this.relay.proxyRemoved(proxy.mesh, name, arrival.revision);
      }
    }
    const rows: ProxyChange[] = [];
    const seqs = new Map<string, number>();
    for (const item of arrival.items) {
      if (!item.mesh) continue;
      const reported = proxyStateOf(item);
      const changedAt = meshChangedAt.get(item.mesh);
      const settled = isSettled(arrival.observedAtMs, changedAt, this.options.settleMs);
      const state = settled ? reported : withUnknownMtls(reported);
      // A mesh that could not be read (or is gone) is left to the workflow's snapshots.
      if (!settled && changedAt !== undefined) this.scheduleSettleCheck(item.mesh, settleRemainingMs(arrival.observedAtMs, changedAt, this.options.settleMs), 0);
      const before = this.known.get(state.name);
      this.known.set(state.name, { mesh: item.mesh, state });
      if (arrival.onlyChanges && before?.mesh === item.mesh && proxyStateKey(before.state) === proxyStateKey(state)) continue;
      rows.push({ mesh: item.mesh, name: state.name, online: state.online, supportedBackends: [...state.supportedBackends], issuedBackend: state.issuedBackend });
      seqs.set(item.mesh, arrival.revision);
    }
    if (rows.length > 0) this.relay.proxiesChanged(rows, seqs);
  }

  private removed(item: DataplaneInsightObject, revision: number): void {
    const name = proxyStateOf(item).name;
    const known = this.known.get(name);
    this.known.delete(name);
    const mesh = item.mesh ?? known?.mesh;
    if (mesh) this.relay.proxyRemoved(mesh, name, revision);
  }

  /** A listing of the mesh's insights once its window has passed, judged like any arrival. */
  private scheduleSettleCheck(mesh: string, delayMs: number, attempt: number): void {
    if (this.stopped || this.settleChecks.has(mesh) || attempt > SETTLE_RECHECK_LIMIT) return;
    const timer = setTimeout(() => {
      this.settleChecks.delete(mesh);
      void this.settleCheck(mesh, attempt);
    }, delayMs);
    timer.unref();
    this.settleChecks.set(mesh, timer);
  }

  private async settleCheck(mesh: string, attempt: number): Promise<void> {
    if (this.stopped) return;
    try {
      const listed = await listKumaObjects(this.options.connection, DATAPLANE_INSIGHTS);
      const items = listed.items.flatMap((raw) => {
        const parsed = DataplaneInsightObjectSchema.safeParse(raw);
        return parsed.success && parsed.data.mesh === mesh ? [parsed.data] : [];
      });
      // Still inside the window: the arrival schedules the next check itself.
      this.arrived({ items, revision: revisionNumber(listed.resourceVersion), observedAtMs: listed.serverTimeMs, onlyChanges: true });
    } catch (err) {
      this.warn(`insight watcher: cannot list dataplaneinsights.kuma.io after the settle window of mesh "${mesh}": ${errorMessage(err)}; retrying`);
      this.scheduleSettleCheck(mesh, SETTLE_RECHECK_MS, attempt + 1);
    }
  }

  /** Every online proxy of the mesh is in the same state: the batch may leave at once. */
  private converged(mesh: string): boolean {
    let first: string | undefined;
    for (const proxy of this.known.values()) {
      if (proxy.mesh !== mesh || !proxy.state.online) continue;
      const key = proxyStateKey(proxy.state);
      first ??= key;
      if (key !== first) return false;
    }
    return true;
  }

  private warn(line: string): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.options.log(line);
  }
}

/** How long until the window ends by the server's clock, from what it said; at least a re-check interval. */
function settleRemainingMs(observedAtMs: number | undefined, changedAtMs: number, settleMs: number): number {
  if (observedAtMs === undefined) return SETTLE_RECHECK_MS;
  return Math.max(SETTLE_RECHECK_MS, changedAtMs + settleMs - observedAtMs + SETTLE_RECHECK_MS / 2);
}
