/**
 * Relays insight changes to the mesh's rotation workflow as batched `proxyAcks` signals, carrying the
 * latest state of every proxy that changed since the last one, grouped by state. Every signal costs
 * workflow history, so they are few: the batch that makes every online proxy agree (a step has
 * converged: what the gate waits for) leaves at once; partial progress leaves after 2 s, then every
 * 4 s while acks keep coming (under the workflow's 5 s reconcile interval, so a long step needs no
 * snapshot). The number of signals follows a step's duration, not the number of proxies.
 * Lossy on purpose: with no workflow or no Temporal the batch is dropped, and the workflow catches up
 * from insights (seq orders snapshots and signals).
 */
import { Client, Connection, WorkflowNotFoundError, type TLSConfig } from '@temporalio/client';
import { PROXY_ACKS_SIGNAL, type ProxyAckBatch, type ProxyState, groupProxyStates, rotationWorkflowId } from '../mesh/insights';
import type { DataplaneRow } from './store';
import { errorMessage } from '../mesh/errors';

export const RELAY_FIRST_INTERVAL_MS = 2_000;
export const RELAY_MAX_INTERVAL_MS = 4_000;
/** Acks of one step arrive in bursts from each host: wait this long to send a converged batch whole. */
const CONVERGED_COALESCE_MS = 25;
const WARN_EVERY_MS = 30_000;

/** What the gates read of a stored proxy: its insights, and when the last certificate it was given expires. */
export function proxyStateOf(row: ProxyChange): ProxyState {
  const state: ProxyState = { name: row.name, online: row.online, supportedBackends: row.supportedBackends, issuedBackend: row.issuedBackend };
  if (row.certificate) state.certificateExpiresAt = row.certificate.expiresAt;
  return state;
}

interface PendingBatch {
  seq: number;
  states: Map<string, ProxyState>;
  removed: Set<string>;
}

/** Where acks go: a Temporal frontend (TLS and API key as for the worker and the CLI) and namespace. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

/** The part of a proxy's row the relay sends (a Kubernetes insight watcher has no more). */
export type ProxyChange = Pick<DataplaneRow, 'mesh' | 'name' | 'online' | 'supportedBackends' | 'issuedBackend'> & {
  /** The last certificate the control plane gave the proxy, when known: the gates stop counting it once it expires. */
  certificate?: { expiresAt: string };
};

/** Where the control plane reports proxy changes: the ack relay, or (in Kubernetes mode) DataplaneInsight resources. */
export interface ProxyChangeSink {
  proxiesChanged(rows: readonly ProxyChange[], seqs: ReadonlyMap<string, number>): void;
  proxyRemoved(mesh: string, name: string, seq: number): void;
  stop(): Promise<void>;
}

export class AckRelay implements ProxyChangeSink {
  private readonly pending = new Map<string, PendingBatch>();
  private timer: NodeJS.Timeout | undefined;
  private client: Promise<Client> | undefined;
  private lastWarning = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;
  private timerDue = 0;
  private intervalMs = RELAY_FIRST_INTERVAL_MS;

  constructor(
    private readonly temporal: TemporalTarget | undefined,
    private readonly log: (line: string) => void,
    /** Whether every online proxy of the mesh is in the same state now; without it, intervals only. */
    private readonly converged: (mesh: string) => boolean = () => false,
  ) {}

  /** Queues the current state of changed proxies, tagged with the mesh's insight seq after the change. */
  proxiesChanged(rows: readonly ProxyChange[], seqs: ReadonlyMap<string, number>): void {
    if (!this.temporal || this.stopped) return;
    for (const row of rows) {
      const batch = this.batchFor(row.mesh, seqs.get(row.mesh));
      batch.removed.delete(row.name);
      batch.states.set(row.name, proxyStateOf(row));
    }
    const meshes = new Set(rows.map((row) => row.mesh));
    if ([...meshes].some((mesh) => this.converged(mesh))) {
      this.schedule(CONVERGED_COALESCE_MS, 'converged');
    } else {
      this.schedule(this.intervalMs, 'progress');
    }
  }

  proxyRemoved(mesh: string, name: string, seq: number): void {
    if (!this.temporal || this.stopped) return;
    const batch = this.batchFor(mesh, seq);
    batch.states.delete(name);
    batch.removed.add(name);
    this.schedule(this.intervalMs, 'progress');
  }

  /** Sends what is pending, then closes the Temporal connection; later changes are not relayed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    await this.inFlight;
    const client = await this.client?.catch(() => undefined);
    await client?.connection.close().catch(() => undefined);
  }

  private batchFor(mesh: string, seq: number | undefined): PendingBatch {
    let batch = this.pending.get(mesh);
    if (!batch) this.pending.set(mesh, (batch = { seq: 0, states: new Map(), removed: new Set() }));
    if (seq !== undefined) batch.seq = Math.max(batch.seq, seq);
    return batch;
  }

  /** Flushes in `delayMs` at the latest (an earlier flush already scheduled stands). */
  private schedule(delayMs: number, why: 'converged' | 'progress'): void {
    const due = Date.now() + delayMs;
    if (this.timer && this.timerDue <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Progress that keeps coming is sent less and less often, up to the cap; a converged step
      // starts the next one afresh.
      this.intervalMs = why === 'converged' ? RELAY_FIRST_INTERVAL_MS : Math.min(RELAY_MAX_INTERVAL_MS, this.intervalMs * 2);
      // Fire and forget from the timer: flush never rejects (send() logs its own failures).
      void this.flush();
    }, delayMs);
  }

  private async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batches = [...this.pending.entries()];
    this.pending.clear();
    // Signals leave in order: one flush at a time.
    this.inFlight = this.inFlight.then(() => Promise.all(batches.map(([mesh, b]) => this.send(mesh, b))).then(() => undefined));
    await this.inFlight;
  }

  private async send(mesh: string, batch: PendingBatch): Promise<void> {
    const payload: ProxyAckBatch = { mesh, seq: batch.seq, groups: groupProxyStates(batch.states.values()), removed: [...batch.removed] };
    try {
      const client = await this.connect();
      await client.workflow.getHandle(rotationWorkflowId(mesh)).signal(PROXY_ACKS_SIGNAL, payload);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      // Reconnect next time; close what we had so no channel lingers.
      const broken = this.client;
      this.client = undefined;
      void broken?.then((c) => c.connection.close()).catch(() => undefined);
      const now = Date.now();
      if (now - this.lastWarning > WARN_EVERY_MS) {
        this.lastWarning = now;
        this.log(`ack relay: cannot signal the rotation workflow of mesh "${mesh}" (${errorMessage(err)}); it will catch up from insights`);
      }
    }
  }

  private connect(): Promise<Client> {
    const temporal = this.temporal;
    if (!temporal) throw new Error('no Temporal address');
    if (!this.client) {
      this.client = Connection.connect({ address: temporal.address, tls: temporal.tls, apiKey: temporal.apiKey, connectTimeout: 2_000 }).then(
        (connection) => new Client({ connection, namespace: temporal.namespace }),
      );
    }
    return this.client;
  }
}
