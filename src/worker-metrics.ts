/**
 * What a worker shows Prometheus: the Temporal SDK's own metrics (task slots, poll and schedule
 * latencies, activity failures) and the rotation's progress, on one endpoint that the SDK's runtime
 * serves. The rotation's figures come from each running rotation's `status` query — the same contract
 * as `ca-rotate status` — polled by the worker process. That keeps them out of workflow code (no
 * replay concerns), makes them true whichever worker runs the workflow, and needs no second port.
 */
import type { Client } from '@temporalio/client';
import type { MetricCounter, MetricGauge, MetricMeter } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { statusQuery, ROTATION_WORKFLOW_TYPE, type RotationStatus } from './workflows/messages';

/** Must run before the worker connects: the runtime is created once per process. */
export function installPrometheusRuntime(bindAddress: string): MetricMeter {
  Runtime.install({
    telemetryOptions: { metrics: { prometheus: { bindAddress, countersTotalSuffix: true, useSecondsForDurations: true } } },
  });
  return Runtime.instance().metricMeter;
}

export interface RotationMetricsOptions {
  meter: MetricMeter;
  /** A client of the worker's namespace (the worker process shares one with its insight watcher). */
  client: Client;
  /** Only rotations on this task queue (several stacks may share one Temporal server). */
  taskQueue: string;
  intervalMs?: number;
  log?: (line: string) => void;
}

/** The step of a rotation in progress as a number: 0 preflight, 1 add-backend, 2 switch-enabled, ... */
export function stepNumber(status: RotationStatus): number {
  if (status.step === 'preflight') return 0;
  if (status.step === 'done') return status.steps.length;
  return status.steps.findIndex((s) => s.name === status.step) + 1;
}

export class RotationMetrics {
  private readonly gauges: Record<'running' | 'step' | 'stepInfo' | 'total' | 'done' | 'stragglers' | 'stepSeconds' | 'paused' | 'approval' | 'excluded', MetricGauge>;
  private readonly pollFailures: MetricCounter;
  /** Per rotation seen running: its mesh and last step, so the previous `ca_rotation_step_info` series drops to 0. */
  private readonly seen = new Map<string, { mesh: string; step: string }>();
  /** When the last successful listing began: rotations that closed since then still get their final state recorded. */
  private listedAt: Date | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();

  constructor(private readonly options: RotationMetricsOptions) {
    const m = options.meter;
    this.gauges = {
      running: m.createGauge('ca_rotation_running', 'int', '', '1 while a rotation of the mesh runs, 0 once it has ended'),
      step: m.createGauge('ca_rotation_step', 'int', '', 'the action in progress: 0 preflight, 1 add-backend, 2 switch-enabled, 3 remove-old (rollback actions count on)'),
      stepInfo: m.createGauge('ca_rotation_step_info', 'int', '', '1 for the action in progress of a running rotation (label step), 0 for earlier ones and once it has ended'),
      total: m.createGauge('ca_rotation_proxies_total', 'int', '', 'proxies the current step waits for'),
      done: m.createGauge('ca_rotation_proxies_done', 'int', '', 'proxies that confirmed the current step'),
      stragglers: m.createGauge('ca_rotation_stragglers', 'int', '', 'proxies that have not confirmed the current step yet'),
      stepSeconds: m.createGauge('ca_rotation_step_seconds', 'float', 's', 'time since the current step started'),
      paused: m.createGauge('ca_rotation_paused', 'int', '', '1 while the rotation is paused (by an operator or a step timeout)'),
      approval: m.createGauge('ca_rotation_waiting_for_approval', 'int', '', '1 while a step waits for `ca-rotate approve`'),
      excluded: m.createGauge('ca_rotation_excluded_proxies', 'int', '', 'offline proxies left out by the offline policy'),
    };
    this.pollFailures = m.createCounter('ca_rotation_status_poll_failures', '', 'failed reads of rotation status (the rotation figures may be stale)');
  }

  start(): void {
    const tick = (): void => {
      this.polling = this.pollOnce().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.options.intervalMs ?? 5_000);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** Lists the running rotations of the task queue, and those that closed since the last listing, then records each one's status. */
  async pollOnce(): Promise<void> {
    const startedAt = new Date();
    // A rotation that started and ended between two polls (or while Temporal was down) is still recorded once.
    const closedSince = this.listedAt ? ` OR CloseTime >= '${new Date(this.listedAt.getTime() - (this.options.intervalMs ?? 5_000)).toISOString()}'` : '';
    const query = `WorkflowType = '${ROTATION_WORKFLOW_TYPE}' AND TaskQueue = '${this.options.taskQueue}' AND (ExecutionStatus = 'Running'${closedSince})`;
    const running = new Set<string>();
    const closed = new Set<string>();
    try {
      for await (const execution of this.options.client.workflow.list({ query })) {
        (execution.status.name === 'RUNNING' ? running : closed).add(execution.workflowId);
      }
    } catch (err) {
      this.failed(`cannot list running rotations: ${String(err)}`);
      return;
    }
    this.listedAt = startedAt;
    // A rotation that just ended: one last query records its final state (queries work on closed workflows).
    const ended = [...this.seen.keys()].filter((id) => !running.has(id));
    for (const workflowId of new Set([...running, ...ended, ...closed])) {
      try {
        this.record(workflowId, await this.options.client.workflow.getHandle(workflowId).query(statusQuery));
      } catch (err) {
        this.failed(`cannot query ${workflowId}: ${String(err)}`);
        // Gone from the running list, and its final state unreadable: at least it no longer runs.
        const mesh = this.seen.get(workflowId)?.mesh;
        if (!running.has(workflowId) && mesh !== undefined) this.gauges.running.set(0, { mesh });
      }
      if (!running.has(workflowId)) {
        // Ended: no action is in progress any more (a later rotation of the mesh starts its own series).
        const last = this.seen.get(workflowId);
        if (last) this.gauges.stepInfo.set(0, { mesh: last.mesh, step: last.step });
        this.seen.delete(workflowId);
      }
    }
  }

  private failed(line: string): void {
    this.pollFailures.add(1);
    this.options.log?.(`rotation metrics: ${line}`);
  }

  private record(workflowId: string, status: RotationStatus): void {
    const tags = { mesh: status.mesh };
    // Once done, the last action's figures stay on show (all proxies done, no stragglers).
    const current = status.step === 'done' ? status.steps.at(-1) : status.steps.find((s) => s.name === status.step);
    const g = this.gauges;
    g.running.set(status.status === 'RUNNING' ? 1 : 0, tags);
    g.step.set(stepNumber(status), tags);
    const previous = this.seen.get(workflowId)?.step;
    if (previous !== undefined && previous !== status.step) g.stepInfo.set(0, { ...tags, step: previous });
    g.stepInfo.set(1, { ...tags, step: status.step });
    this.seen.set(workflowId, { mesh: status.mesh, step: status.step });
    g.total.set(current?.proxies.total ?? 0, tags);
    g.done.set(current?.proxies.done ?? 0, tags);
    g.stragglers.set(current && current.state !== 'done' ? Math.max(0, current.proxies.total - current.proxies.done) : 0, tags);
    const since = current?.startedAt && status.status === 'RUNNING' ? (Date.now() - Date.parse(current.startedAt)) / 1000 : 0;
    g.stepSeconds.set(Math.max(0, since), tags);
    g.paused.set(status.paused ? 1 : 0, tags);
    g.approval.set(status.waitingForApproval ? 1 : 0, tags);
    g.excluded.set(status.excludedProxies, tags);
  }
}
