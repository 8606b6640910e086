/**
 * The proxies' acks in Kubernetes mode: a watch of every DataplaneInsight (not a poll), fed into the
 * same batching relay our control plane uses, so the rotation workflow gets the one `proxyAcks` signal
 * whatever the mode. `seq` is the etcd revision of the change, which orders signals and snapshots.
 */
import { AckRelay, type ProxyChange, type TemporalTarget } from '../controlplane/ack-relay';
import type { ProxyState } from '../mesh/insights';
import { type KubernetesConnection, listKumaObjects } from './connection';
import { ListWatch } from './list-watch';
import { DATAPLANE_INSIGHTS, type DataplaneInsightObject, DataplaneInsightObjectSchema, KUMA_GROUP, KUMA_VERSION, proxyStateOf } from './resources';

interface KnownProxy {
  mesh: string;
  state: ProxyState;
}

export interface InsightWatcherOptions {
  connection: KubernetesConnection;
  temporal: TemporalTarget;
  log: (line: string) => void;
}

export class KubernetesInsightWatcher {
  private readonly known = new Map<string, KnownProxy>();
  private readonly relay: AckRelay;
  private readonly watch: ListWatch<DataplaneInsightObject>;

  constructor(options: InsightWatcherOptions) {
    this.relay = new AckRelay(options.temporal, options.log, (mesh) => this.converged(mesh));
    const { connection } = options;
    this.watch = new ListWatch({
      connection,
      what: 'dataplaneinsights.kuma.io',
      path: `/apis/${KUMA_GROUP}/${KUMA_VERSION}/${DATAPLANE_INSIGHTS}`,
      schema: DataplaneInsightObjectSchema,
      list: () => listKumaObjects(connection, DATAPLANE_INSIGHTS),
      onSync: (items, revision) => this.sync(items, revision),
      onEvent: (type, item, revision) => (type === 'DELETED' ? this.removed(item, revision) : this.changed([item], revision)),
      log: options.log,
    });
  }

  get synced(): Promise<void> {
    return this.watch.synced;
  }

  async stop(): Promise<void> {
    await this.watch.stop();
    await this.relay.stop();
  }

  private sync(items: DataplaneInsightObject[], revision: number): void {
    const present = new Set(items.map((item) => proxyStateOf(item).name));
    for (const [name, proxy] of this.known) {
      if (!present.has(name)) {
        this.known.delete(name);
        this.relay.proxyRemoved(proxy.mesh, name, revision);
      }
    }
    this.changed(items, revision);
  }

  private changed(items: DataplaneInsightObject[], revision: number): void {
    const rows: ProxyChange[] = [];
    const seqs = new Map<string, number>();
    for (const item of items) {
      if (!item.mesh) continue;
      const state = proxyStateOf(item);
      this.known.set(state.name, { mesh: item.mesh, state });
      rows.push({ mesh: item.mesh, name: state.name, online: state.online, supportedBackends: [...state.supportedBackends], issuedBackend: state.issuedBackend });
      seqs.set(item.mesh, revision);
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

  /** Every online proxy of the mesh is in the same state: the batch may leave at once. */
  private converged(mesh: string): boolean {
    let first: string | undefined;
    for (const proxy of this.known.values()) {
      if (proxy.mesh !== mesh || !proxy.state.online) continue;
      const key = `${[...proxy.state.supportedBackends].sort().join(',')}|${proxy.state.issuedBackend ?? ''}`;
      first ??= key;
      if (key !== first) return false;
    }
    return true;
  }
}
