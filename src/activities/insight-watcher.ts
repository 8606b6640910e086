/**
 * The insight watcher: for a control plane that does not push acks (Kong Mesh, Kuma, ours with the
 * relay off), it polls each rotating mesh's `_overview` and sends the rotation workflow the same
 * batched `proxyAcks` signal our control plane sends, so the workflow has one path. Runs beside the
 * worker. Only changes are sent (a proxy whose state moved, a proxy gone), at most one signal per mesh
 * per poll, under the settle rule (proxy-insights.ts). Lossy like the relay: a failed signal is not
 * retried; the workflow's periodic snapshot catches up.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { PROXY_ACKS_SIGNAL, type ProxyAckBatch, type ProxyState, groupProxyStates, proxyStateKey } from '../mesh/insights';
import type { MeshTarget, MeshTargetIdentity } from './mesh-target';
import { readSettledProxies } from './proxy-insights';
import { errorMessage } from '../mesh/errors';

export const DEFAULT_WATCH_INTERVAL_MS = 2_000;
const ROTATION_WORKFLOW_PREFIX = 'ca-rotation/';
const WARN_EVERY_MS = 30_000;

export interface InsightWatcherOptions {
  target: MeshTarget;
  client: Client;
  taskQueue: string;
  /** The settle rule's wait for this target (see `insightSettleMsFor`). */
  settleMs: (identity: MeshTargetIdentity) => number;
  intervalMs?: number;
  log?: (line: string) => void;
}

interface Sent {
  runId: string;
  seq: number;
  states: Map<string, string>;
}

export class InsightWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly sent = new Map<string, Sent>();
  private lastWarning = 0;
  /** Signals sent so far (for tests and logs). */
  signals = 0;

  constructor(private readonly options: InsightWatcherOptions) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((err: unknown) => this.warn(`insight watcher: ${errorMessage(err)}`))
        .finally(() => this.schedule(this.options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS));
    }, delayMs);
  }

  /** One poll: every running rotation on this task queue whose control plane does not push acks. */
  async tick(): Promise<void> {
    const identity = await this.options.target.identify();
    if (identity.capabilities.pushedAcks) return;
    const settleMs = this.options.settleMs(identity);
    const query = `WorkflowType = 'caRotationWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${this.options.taskQueue}'`;
    const live = new Set<string>();
    for await (const execution of this.options.client.workflow.list({ query })) {
      if (this.stopped || !execution.workflowId.startsWith(ROTATION_WORKFLOW_PREFIX)) continue;
      const mesh = execution.workflowId.slice(ROTATION_WORKFLOW_PREFIX.length);
      live.add(mesh);
      await this.watchMesh(mesh, execution.runId, settleMs);
    }
    for (const mesh of this.sent.keys()) if (!live.has(mesh)) this.sent.delete(mesh);
  }

  private async watchMesh(mesh: string, runId: string, settleMs: number): Promise<void> {
    const reading = await readSettledProxies(this.options.target, mesh, settleMs);
    let sent = this.sent.get(mesh);
    // A new run (continue-as-new, or a new rotation) starts from nothing: send everything once.
    if (!sent || sent.runId !== runId) sent = { runId, seq: 0, states: new Map() };
    const changed: ProxyState[] = [];
    const present = new Set<string>();
    for (const proxy of reading.proxies) {
      present.add(proxy.name);
      const key = proxyStateKey(proxy);
      if (sent.states.get(proxy.name) !== key) changed.push(proxy);
    }
    const removed = [...sent.states.keys()].filter((name) => !present.has(name));
    if (changed.length === 0 && removed.length === 0) {
      this.sent.set(mesh, sent);
      return;
    }
    // The workflow keeps a proxy's state from the highest seq it saw: each batch must go higher.
    const seq = Math.max(reading.seq, sent.seq + 1);
    const batch: ProxyAckBatch = { mesh, seq, groups: groupProxyStates(changed), removed };
    try {
      await this.options.client.workflow.getHandle(`${ROTATION_WORKFLOW_PREFIX}${mesh}`).signal(PROXY_ACKS_SIGNAL, batch);
      this.signals++;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      throw err;
    }
    for (const proxy of changed) sent.states.set(proxy.name, proxyStateKey(proxy));
    for (const name of removed) sent.states.delete(name);
    sent.seq = seq;
    this.sent.set(mesh, sent);
  }

  private warn(line: string): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    (this.options.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  }
}
