/**
 * The state of one rotation and everything that changes it: the operator's controls, the steps'
 * bookkeeping, and how progress shows in the status query and the Temporal UI. The workflow's main
 * function (rotation.ts) drives it; the control handlers (controls.ts) call it.
 */
import { log, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { GateResult } from '../mesh/gates';
import { ProxyAckBatchSchema } from '../mesh/insights';
import type { Mesh } from '../mesh/schema';
import { ACTIONS, type Action, began, forwardActions, publicAction, type RotationBackends, undoActions } from './actions';
import { renderDetails } from './details';
import { DEFAULT_ROTATION_OPTIONS, type ActionState, type RotationInput, type RotationOptions, type RotationPhase, type RotationResult, type RotationStatus } from './messages';
import { ProxyStates } from './proxy-states';

/** Everything the rotation needs to go on in a new run after continue-as-new. Proxy states are re-read. */
export interface CarriedState {
  phase: RotationPhase;
  from: string;
  to: string;
  toBackend: RotationBackends['toBackend'];
  mesh: Mesh;
  meshVersion: number;
  meshVersions: number[];
  actions: Action[];
  actionIndex: number;
  paused: boolean;
  pauseReason?: string;
  stepDeadline: number;
  offlineSince: Record<string, number>;
  signalsReceived: number;
  startedAt: string;
}

/** The SDK replaces `Date` inside the workflow sandbox with the current workflow task's time. */
export function workflowTime(): number {
  return new Date().getTime();
}
function isoTime(): string {
  return new Date(workflowTime()).toISOString();
}

/** A fresh rotation of `mesh` (at `meshVersion`) between the planned backends. */
export function initialState(backends: RotationBackends, mesh: Mesh, meshVersion: number): CarriedState {
  const { from, to, toBackend } = backends;
  return {
    phase: 'rotating',
    from,
    to,
    toBackend,
    mesh,
    meshVersion,
    meshVersions: [],
    actions: forwardActions({ from, to }),
    actionIndex: 0,
    paused: false,
    stepDeadline: 0,
    offlineSince: {},
    signalsReceived: 0,
    startedAt: isoTime(),
  };
}

const FINAL_STATUS = { completed: 'COMPLETED', aborted: 'ABORTED', 'rolled-back': 'ROLLED_BACK' } as const;

export class Rotation {
  readonly options: RotationOptions;
  readonly proxies: ProxyStates;
  /** Assigned by `start`, once preflight has read the mesh (or from the carried state). */
  state!: CarriedState;
  private started = false;
  /** Bumped when abort/rollback replaces the remaining actions, so a step in flight sees the new plan. */
  revision = 0;
  /** News about proxies arrived since the gate last looked. */
  gateDirty = false;
  private lastDetails = '';
  private lastStepAttribute = '';

  constructor(
    readonly input: RotationInput,
    readonly workflowId: string,
  ) {
    this.options = { ...DEFAULT_ROTATION_OPTIONS, ...input.options };
    this.proxies = new ProxyStates(this.options.offlineProxies);
  }

  start(state: CarriedState): void {
    this.state = state;
    this.proxies.trackOfflineIn(state.offlineSince);
    this.started = true;
  }

  /** The `proxyAcks` signal; acks may arrive before preflight ends. */
  receiveAcks(raw: unknown): void {
    const parsed = ProxyAckBatchSchema.safeParse(raw);
    if (!parsed.success || parsed.data.mesh !== this.input.mesh) {
      log.warn('ignored a malformed proxy ack batch');
      return;
    }
    if (this.started) this.state.signalsReceived++;
    this.proxies.mergeAcks(parsed.data);
    this.gateDirty = true;
  }

  // The controls; controls.ts refuses them when they make no sense now.

  pause(reason: string | undefined): string {
    this.state.paused = true;
    this.state.pauseReason = reason ?? 'paused by an operator';
    this.publish();
    return `paused: the current step finishes its wait, no new step starts until resume`;
  }

  resume(): string {
    this.state.paused = false;
    this.state.pauseReason = undefined;
    this.state.stepDeadline = workflowTime() + this.options.stepTimeoutMs;
    this.gateDirty = true;
    this.publish();
    return 'resumed';
  }

  approve(): string {
    const action = this.currentAction();
    if (action) action.approved = true;
    this.publish();
    return `approved step ${action?.name ?? ''}`;
  }

  abort(): string {
    this.undo('aborting');
    return `aborting: the new backend "${this.state.to}" is removed again`;
  }

  rollback(): string {
    this.undo('rolling-back');
    return `rolling back to "${this.state.from}"`;
  }

  /** Replaces the remaining actions with the ones that undo what was applied. */
  private undo(phase: 'aborting' | 'rolling-back'): void {
    const { actions, actionIndex } = this.state;
    const current = actions[actionIndex];
    const done = actions.slice(0, actionIndex);
    // The current action stays in the list (same object, so an apply in flight still records its version).
    const keptCurrent: Action[] = current && began(current) ? [current] : [];
    const undoing = undoActions(actions, this.state);
    if (current && keptCurrent.length > 0) current.state = 'interrupted';
    this.state.actions = [...done, ...keptCurrent, ...undoing];
    this.state.actionIndex = done.length + keptCurrent.length;
    this.state.phase = phase;
    this.state.paused = false;
    this.state.pauseReason = undefined;
    this.revision++;
    this.publish();
  }

  // The steps' bookkeeping, in the order rotation.ts calls it.

  currentAction(): Action | undefined {
    return this.state.actions[this.state.actionIndex];
  }

  begin(action: Action): void {
    action.startedAt ??= isoTime();
    this.publishStep(action.name);
  }

  enter(action: Action, state: ActionState): void {
    action.state = state;
    this.publish();
  }

  desiredMesh(action: Action): Mesh {
    return ACTIONS[action.name].edit(this.state.mesh, this.state);
  }

  recordApplied(action: Action, mesh: Mesh, version: number): void {
    action.applied = true;
    action.appliedAt = isoTime();
    action.meshVersion = version;
    this.state.mesh = mesh;
    this.state.meshVersion = version;
    this.state.meshVersions.push(version);
    this.state.stepDeadline = workflowTime() + this.options.stepTimeoutMs;
  }

  recordReissued(action: Action, issued: number): void {
    action.reissueDone = true;
    action.reissued = issued;
  }

  armStepDeadline(): void {
    if (this.state.stepDeadline === 0) this.state.stepDeadline = workflowTime() + this.options.stepTimeoutMs;
  }

  /** Offline proxies the policy leaves out now: the control plane's admission may leave them out of the next edit too. */
  offlineExcluded(): string[] {
    return this.proxies.excluded(workflowTime());
  }

  evaluateGate(action: Action): GateResult {
    const gate = this.proxies.evaluate(action.gate, workflowTime());
    action.proxies = { total: gate.total, done: gate.done };
    action.pending = gate.pending;
    this.publish();
    return gate;
  }

  /** A step never fails for stragglers: past its deadline it pauses and names them. */
  pauseIfTimedOut(action: Action, gate: GateResult): void {
    if (workflowTime() < this.state.stepDeadline || this.state.paused) return;
    const missing = gate.total - gate.done;
    this.state.paused = true;
    this.state.pauseReason = `step ${action.name} timed out after ${Math.round(this.options.stepTimeoutMs / 1000)} s: ${missing} of ${gate.total} proxies have not acknowledged it (${gate.pending.join(', ')}${missing > gate.pending.length ? ', ...' : ''})`;
    log.warn(this.state.pauseReason);
    this.publish();
  }

  /** How long a waiting gate sleeps before it re-reads the proxies (unless news wakes it). */
  gateNap(): number {
    const untilDeadline = this.state.paused ? this.options.reconcileIntervalMs : Math.max(1, this.state.stepDeadline - workflowTime());
    return Math.min(this.options.reconcileIntervalMs, untilDeadline);
  }

  recordPassed(action: Action): void {
    action.state = 'done';
    action.completedAt = isoTime();
    this.state.stepDeadline = 0;
  }

  historyTooLong(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || (this.options.continueAsNewAfterEvents > 0 && info.historyLength > this.options.continueAsNewAfterEvents);
  }

  finish(): void {
    this.state.phase = this.state.phase === 'aborting' ? 'aborted' : this.state.phase === 'rolling-back' ? 'rolled-back' : 'completed';
    this.publishStep(this.state.phase);
    this.publish();
  }

  result(): RotationResult {
    const status = this.status();
    const { from, to, meshVersions, signalsReceived, startedAt } = this.state;
    return { status: status.status === 'RUNNING' ? 'COMPLETED' : status.status, mesh: this.input.mesh, from, to, steps: status.steps, meshVersions, signalsReceived, startedAt, completedAt: isoTime() };
  }

  // Progress, for the status query and the Temporal UI.

  isFinished(): boolean {
    return this.state.phase in FINAL_STATUS;
  }

  status(): RotationStatus {
    const base = { workflowId: this.workflowId, mesh: this.input.mesh, approval: this.options.approval, updatedAt: isoTime() };
    if (!this.started) {
      return { ...base, status: 'RUNNING', phase: 'preflight', step: 'preflight', steps: [], from: '', to: '', paused: false, waitingForApproval: false, excludedProxies: 0, startedAt: '', signalsReceived: 0 };
    }
    const { state } = this;
    const action = this.currentAction();
    return {
      ...base,
      status: state.phase in FINAL_STATUS ? FINAL_STATUS[state.phase as keyof typeof FINAL_STATUS] : 'RUNNING',
      phase: state.phase,
      step: this.isFinished() ? 'done' : (action?.name ?? 'done'),
      steps: state.actions.map(publicAction),
      from: state.from,
      to: state.to,
      paused: state.paused,
      pauseReason: state.pauseReason,
      waitingForApproval: action?.state === 'waiting-approval',
      excludedProxies: this.proxies.excludedCount,
      startedAt: state.startedAt,
      signalsReceived: state.signalsReceived,
    };
  }

  /** Mirrors progress into the Temporal UI's current details when it changed. */
  publish(): void {
    const details = renderDetails(this.status());
    if (details === this.lastDetails) return;
    this.lastDetails = details;
    setCurrentDetails(details);
  }

  /** The `RotationStep` search attribute, written only when the step changes. */
  publishStep(step: string): void {
    if (step === this.lastStepAttribute) return;
    this.lastStepAttribute = step;
    upsertSearchAttributes({ RotationStep: [step] });
  }
}
