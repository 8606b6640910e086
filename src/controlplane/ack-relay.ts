/**
 * Relays insight changes to the mesh's rotation workflow as batched `proxyAcks` signals: at most one
 * per mesh every 500 ms, carrying the latest state of every proxy that changed since the last one,
 * grouped by state. Lossy on purpose: with no workflow or no Temporal the batch is dropped, and the
 * workflow catches up from insights (seq orders snapshots and signals).
 */
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { PROXY_ACKS_SIGNAL, type ProxyAckBatch, type ProxyState, groupProxyStates, rotationWorkflowId } from '../mesh/insights';
import type { DataplaneRow } from './store';

export const RELAY_INTERVAL_MS = 500;
const WARN_EVERY_MS = 30_000;

interface PendingBatch {
  seq: number;
  states: Map<string, ProxyState>;
  removed: Set<string>;
}

export class AckRelay {
  private readonly pending = new Map<string, PendingBatch>();
  private timer: NodeJS.Timeout | undefined;
  private client: Promise<Client> | undefined;
  private lastWarning = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly temporal: { address: string; namespace: string } | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /** Queues the current state of changed proxies, tagged with the mesh's insight seq after the change. */
  proxiesChanged(rows: readonly DataplaneRow[], seqs: ReadonlyMap<string, number>): void {
    if (!this.temporal || this.stopped) return;
    for (const row of rows) {
      const batch = this.batchFor(row.mesh, seqs.get(row.mesh));
      batch.removed.delete(row.name);
      batch.states.set(row.name, { name: row.name, online: row.online, supportedBackends: row.supportedBackends, issuedBackend: row.issuedBackend });
    }
    this.schedule();
  }

  proxyRemoved(mesh: string, name: string, seq: number): void {
    if (!this.temporal || this.stopped) return;
    const batch = this.batchFor(mesh, seq);
    batch.states.delete(name);
    batch.removed.add(name);
    this.schedule();
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

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, RELAY_INTERVAL_MS);
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
        this.log(`ack relay: cannot signal the rotation workflow of mesh "${mesh}" (${err instanceof Error ? err.message : String(err)}); it will catch up from insights`);
      }
    }
  }

  private connect(): Promise<Client> {
    const temporal = this.temporal;
    if (!temporal) throw new Error('no Temporal address');
    if (!this.client) {
      this.client = Connection.connect({ address: temporal.address, connectTimeout: 2_000 }).then(
        (connection) => new Client({ connection, namespace: temporal.namespace }),
      );
    }
    return this.client;
  }
}
