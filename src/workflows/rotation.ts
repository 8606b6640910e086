/**
 * The CA rotation workflow: add the new backend, switch `enabledBackend`, remove the old one, and take
 * no step before every proxy has acknowledged the one before. Deterministic: no I/O, no Node APIs;
 * everything effectful is an activity. Time comes from the SDK's deterministic clock (`workflowTime`).
 */
import {
  ApplicationFailure,
  type RetryPolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURES, type RotationActivities } from '../activities/types';
import { evaluateGate, type RotationStepName } from '../mesh/gates';
import { ProxyAckBatchSchema, ungroupProxyStates, type ProxySnapshot, type ProxyState } from '../mesh/insights';
import { planRotation, withBackend, withEnabledBackend, withoutBackend } from '../mesh/plan';
import type { Backend, Mesh } from '../mesh/schema';
import {
  abortUpdate,
  approveUpdate,
  DEFAULT_ROTATION_OPTIONS,
  pauseUpdate,
  proxyAcksSignal,
  resumeUpdate,
  rollbackUpdate,
  statusQuery,
  type ActionName,
  type ActionStatus,
  type RotationInput,
  type RotationOptions,
  type RotationPhase,
  type RotationResult,
  type RotationStatus,
} from './messages';
import { renderDetails } from './details';

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES] };

// A control plane or Vault that is down is waited out: retries have no attempt limit.
// Short calls: a worker that dies holding one delays the rotation by at most this timeout.
const { preflight, applyMeshVersion, snapshotProxies } = proxyActivities<RotationActivities>({
  startToCloseTimeout: '20 seconds',
  retry,
});
const { reissueCertificates } = proxyActivities<RotationActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '15s',
  retry,
});

/** The SDK replaces `Date` inside the workflow sandbox with the current workflow task's time. */
function workflowTime(): number {
  return new Date().getTime();
}
function isoTime(): string {
  return new Date(workflowTime()).toISOString();
}

interface Action extends ActionStatus {
  gate: { step: RotationStepName; from: string; to: string };
  reissue: boolean;
  approved: boolean;
  applied: boolean;
  reissueDone: boolean;
}

/** Everything the rotation needs to go on in a new run after continue-as-new. Proxy states are re-read. */
interface CarriedState {
  phase: RotationPhase;
  from: string;
  to: string;
  toBackend: Backend;
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

function newAction(name: ActionName, step: RotationStepName, from: string, to: string, reissue: boolean, approved: boolean): Action {
  return { name, state: 'pending', proxies: { total: 0, done: 0 }, pending: [], gate: { step, from, to }, reissue, approved, applied: false, reissueDone: false };
}

function forwardActions(from: string, to: string): Action[] {
  return [
    newAction('add-backend', 'add-backend', from, to, false, false),
    newAction('switch-enabled', 'switch-enabled', from, to, true, false),
    newAction('remove-old', 'remove-old', from, to, false, false),
  ];
}

export async function caRotationWorkflow(input: RotationInput, carried?: CarriedState): Promise<RotationResult> {
  const options: RotationOptions = { ...DEFAULT_ROTATION_OPTIONS, ...input.options };
  const workflowId = workflowInfo().workflowId;
  const proxies = new Map<string, { state: ProxyState; seq: number }>();
  let revision = 0; // bumped when abort/rollback replaces the remaining actions
  let gateDirty = false;
  let lastPublished = '';

  // Assigned once preflight has read the mesh (or from the carried state); handlers check `started`.
  let state!: CarriedState;
  let started = false;
  let excludedCount = 0;

  // Signals may arrive before preflight ends; they only touch `proxies`.
  setHandler(proxyAcksSignal, (raw) => {
    const parsed = ProxyAckBatchSchema.safeParse(raw);
    if (!parsed.success || parsed.data.mesh !== input.mesh) {
      log.warn('ignored a malformed proxy ack batch');
      return;
    }
    const batch = parsed.data;
    if (started) state.signalsReceived++;
    for (const proxy of ungroupProxyStates(batch.groups)) {
      const known = proxies.get(proxy.name);
      if (!known || known.seq < batch.seq) proxies.set(proxy.name, { state: proxy, seq: batch.seq });
    }
    for (const name of batch.removed) {
      const known = proxies.get(name);
      if (!known || known.seq < batch.seq) proxies.delete(name);
    }
    gateDirty = true;
  });

  setHandler(statusQuery, () => currentStatus());

  if (carried) {
    state = carried;
  } else {
    upsertSearchAttributes({ MeshName: [input.mesh], RotationStep: ['preflight'] });
    const checked = await preflight.executeWithOptions({ summary: `preflight: read mesh "${input.mesh}", validate the target backend` }, [
      { mesh: input.mesh, target: input.target },
    ]);
    const planned = planRotation(checked.current, input.target);
    if (!planned.ok) {
      throw ApplicationFailure.nonRetryable(planned.errors.map((e) => `${e.path}: ${e.message}`).join('; '), 'InvalidRotationTarget');
    }
    const { from, to, toBackend } = planned.plan;
    state = {
      phase: 'rotating',
      from,
      to,
      toBackend,
      mesh: checked.current,
      meshVersion: checked.currentVersion,
      meshVersions: [],
      actions: forwardActions(from, to),
      actionIndex: 0,
      paused: false,
      stepDeadline: 0,
      offlineSince: {},
      signalsReceived: 0,
      startedAt: isoTime(),
    };
  }
  started = true;

  setHandler(pauseUpdate, (request: { reason?: string }) => {
    state.paused = true;
    state.pauseReason = request.reason ?? 'paused by an operator';
    publish();
    return `paused: the current step finishes its wait, no new step starts until resume`;
  }, {
    validator: (_request: { reason?: string }) => {
      if (isFinished()) throw new Error('the rotation has finished: nothing to pause');
      if (state.paused) throw new Error(`already paused (${state.pauseReason ?? 'no reason given'})`);
    },
  });

  setHandler(resumeUpdate, () => {
    state.paused = false;
    state.pauseReason = undefined;
    state.stepDeadline = workflowTime() + options.stepTimeoutMs;
    gateDirty = true;
    publish();
    return 'resumed';
  }, {
    validator: () => {
      if (!state.paused) throw new Error('the rotation is not paused');
    },
  });

  setHandler(approveUpdate, () => {
    const action = currentAction();
    if (action) action.approved = true;
    publish();
    return `approved step ${action?.name ?? ''}`;
  }, {
    validator: () => {
      if (options.approval !== 'manual') throw new Error('this rotation runs with --approval auto: there is nothing to approve');
      const action = currentAction();
      if (!action || action.state !== 'waiting-approval') throw new Error(`no step is waiting for approval (current: ${action?.name ?? 'none'}, ${action?.state ?? 'finished'})`);
    },
  });

  setHandler(abortUpdate, () => {
    undo('aborting');
    return `aborting: the new backend "${state.to}" is removed again`;
  }, {
    validator: () => {
      if (isFinished()) throw new Error('the rotation has finished: nothing to abort');
      if (state.phase !== 'rotating') throw new Error(`an ${state.phase} is already in progress`);
      const switchAction = state.actions.find((a) => a.name === 'switch-enabled');
      if (switchAction && (switchAction.applied || switchAction.state === 'applying')) {
        throw new Error(`enabledBackend has already been switched to "${state.to}": use rollback to switch back`);
      }
    },
  });

  setHandler(rollbackUpdate, () => {
    undo('rolling-back');
    return `rolling back to "${state.from}"`;
  }, {
    validator: () => {
      if (isFinished()) throw new Error('the rotation has finished: nothing to roll back');
      if (state.phase !== 'rotating') throw new Error(`an ${state.phase} is already in progress`);
      const removeOld = state.actions.find((a) => a.name === 'remove-old');
      if (removeOld && (removeOld.applied || removeOld.state === 'applying' || removeOld.state === 'waiting' || removeOld.state === 'done')) {
        throw new Error(`step 3 has begun: the old backend "${state.from}" is being removed, so there is nothing left to roll back to`);
      }
    },
  });

  function isFinished(): boolean {
    return state.phase === 'completed' || state.phase === 'aborted' || state.phase === 'rolled-back';
  }

  function currentAction(): Action | undefined {
    return state.actions[state.actionIndex];
  }

  /** Replaces the remaining actions with the ones that undo what was applied. */
  function undo(phase: 'aborting' | 'rolling-back'): void {
    const index = state.actionIndex;
    const current = state.actions[index];
    const done = state.actions.slice(0, index);
    const switched = state.actions.some((a) => a.name === 'switch-enabled' && (a.applied || a.state === 'applying'));
    const added = state.actions.some((a) => a.name === 'add-backend' && (a.applied || a.state === 'applying'));
    // The current action stays in the list (same object, so an apply in flight still records its version).
    const keptCurrent: Action[] = current && (current.applied || current.state === 'applying') ? [current] : [];
    const undoing: Action[] = [];
    if (switched) undoing.push(newAction('switch-back', 'switch-enabled', state.to, state.from, true, true));
    if (added) undoing.push(newAction('remove-new', 'remove-old', state.to, state.from, false, true));
    if (current && keptCurrent.length > 0) current.state = 'interrupted';
    state.actions = [...done, ...keptCurrent, ...undoing];
    state.actionIndex = done.length + keptCurrent.length;
    state.phase = phase;
    state.paused = false;
    state.pauseReason = undefined;
    revision++;
    publish();
  }

  function desiredMesh(action: Action): Mesh {
    switch (action.name) {
      case 'add-backend':
        return withBackend(state.mesh, state.toBackend);
      case 'switch-enabled':
        return withEnabledBackend(state.mesh, state.to);
      case 'remove-old':
        return withoutBackend(state.mesh, state.from);
      case 'switch-back':
        return withEnabledBackend(state.mesh, state.from);
      case 'remove-new':
        return withoutBackend(state.mesh, state.to);
    }
  }

  function mergeSnapshot(snapshot: ProxySnapshot): void {
    const seen = new Set<string>();
    for (const proxy of ungroupProxyStates(snapshot.groups)) {
      seen.add(proxy.name);
      const known = proxies.get(proxy.name);
      if (!known || known.seq <= snapshot.asOfSeq) proxies.set(proxy.name, { state: proxy, seq: snapshot.asOfSeq });
    }
    for (const [name, known] of proxies) {
      if (!seen.has(name) && known.seq <= snapshot.asOfSeq) proxies.delete(name);
    }
  }

  function excludedProxies(): Set<string> {
    const now = workflowTime();
    const excluded = new Set<string>();
    for (const [name, known] of proxies) {
      if (known.state.online) {
        delete state.offlineSince[name];
        continue;
      }
      const since = (state.offlineSince[name] ??= now);
      if (options.offlineProxies.mode === 'exclude' && now - since >= options.offlineProxies.afterMs) excluded.add(name);
    }
    for (const name of Object.keys(state.offlineSince)) if (!proxies.has(name)) delete state.offlineSince[name];
    excludedCount = excluded.size;
    return excluded;
  }

  function currentStatus(): RotationStatus {
    const base = { workflowId, mesh: input.mesh, approval: options.approval, updatedAt: isoTime() };
    if (!started) {
      return { ...base, status: 'RUNNING', phase: 'preflight', step: 'preflight', steps: [], from: '', to: '', paused: false, waitingForApproval: false, excludedProxies: 0, startedAt: '', signalsReceived: 0 };
    }
    const action = currentAction();
    const statusByPhase = { completed: 'COMPLETED', aborted: 'ABORTED', 'rolled-back': 'ROLLED_BACK' } as const;
    return {
      ...base,
      status: state.phase in statusByPhase ? statusByPhase[state.phase as keyof typeof statusByPhase] : 'RUNNING',
      phase: state.phase,
      step: isFinished() ? 'done' : (action?.name ?? 'done'),
      steps: state.actions.map(publicAction),
      from: state.from,
      to: state.to,
      paused: state.paused,
      pauseReason: state.pauseReason,
      waitingForApproval: action?.state === 'waiting-approval',
      excludedProxies: excludedCount,
      startedAt: state.startedAt,
      signalsReceived: state.signalsReceived,
    };
  }

  /** Mirrors progress into the Temporal UI (current details, search attribute) when it changed. */
  function publish(): void {
    const status = currentStatus();
    const details = renderDetails(status);
    if (details === lastPublished) return;
    lastPublished = details;
    setCurrentDetails(details);
  }

  let lastStepAttribute = '';
  function publishStep(step: string): void {
    if (step === lastStepAttribute) return;
    lastStepAttribute = step;
    upsertSearchAttributes({ RotationStep: [step] });
  }

  async function reconcile(): Promise<void> {
    const snapshot = await snapshotProxies.executeWithOptions({ summary: `read proxy insights of mesh "${input.mesh}"` }, [{ mesh: input.mesh }]);
    mergeSnapshot(snapshot);
  }

  function suggestContinueAsNew(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || (options.continueAsNewAfterEvents > 0 && info.historyLength > options.continueAsNewAfterEvents);
  }

  async function waitForGate(action: Action, rev: number): Promise<'passed' | 'interrupted' | 'continue-as-new'> {
    await reconcile();
    if (state.stepDeadline === 0) state.stepDeadline = workflowTime() + options.stepTimeoutMs;
    for (;;) {
      const gate = evaluateGate(action.gate.step, action.gate.from, action.gate.to, [...proxies.values()].map((p) => p.state), {
        excluded: excludedProxies(),
      });
      action.proxies = { total: gate.total, done: gate.done };
      action.pending = gate.pending;
      publish();
      if (gate.satisfied) return 'passed';
      if (revision !== rev) return 'interrupted';
      const now = workflowTime();
      if (now >= state.stepDeadline && !state.paused) {
        state.paused = true;
        state.pauseReason = `step ${action.name} timed out after ${Math.round(options.stepTimeoutMs / 1000)} s: ${gate.total - gate.done} of ${gate.total} proxies have not acknowledged it (${gate.pending.join(', ')}${gate.total - gate.done > gate.pending.length ? ', ...' : ''})`;
        log.warn(state.pauseReason);
        publish();
      }
      if (suggestContinueAsNew()) return 'continue-as-new';
      gateDirty = false;
      const untilDeadline = state.paused ? options.reconcileIntervalMs : Math.max(1, state.stepDeadline - now);
      const woken = await condition(() => gateDirty || revision !== rev, Math.min(options.reconcileIntervalMs, untilDeadline));
      if (!woken) await reconcile();
    }
  }

  /** Runs one action to its gate. Returns early when abort/rollback changed the plan or history is long. */
  async function runAction(action: Action, rev: number): Promise<'done' | 'interrupted' | 'continue-as-new'> {
    action.startedAt ??= isoTime();
    publishStep(action.name);
    if (options.approval === 'manual' && !action.approved) {
      action.state = 'waiting-approval';
      publish();
      await condition(() => action.approved || revision !== rev);
      if (revision !== rev) return 'interrupted';
    }
    if (!action.applied) {
      if (state.paused) {
        publish();
        await condition(() => !state.paused || revision !== rev);
        if (revision !== rev) return 'interrupted';
      }
      action.state = 'applying';
      publish();
      const desired = desiredMesh(action);
      const applied = await applyMeshVersion.executeWithOptions({ summary: `${action.name}: apply mesh version ${state.meshVersion + 1}` }, [
        { mesh: input.mesh, expectedVersion: state.meshVersion, desired, actor: `${workflowId}: ${action.name}` },
      ]);
      action.applied = true;
      action.appliedAt = isoTime();
      action.meshVersion = applied.version;
      state.mesh = desired;
      state.meshVersion = applied.version;
      state.meshVersions.push(applied.version);
      state.stepDeadline = workflowTime() + options.stepTimeoutMs;
      if (revision !== rev) return 'interrupted';
    }
    if (action.reissue && !action.reissueDone) {
      action.state = 'reissuing';
      publish();
      const reissued = await reissueCertificates.executeWithOptions({ summary: `${action.name}: re-issue proxy certificates in batches` }, [
        { mesh: input.mesh, batchSize: options.reissueBatchSize },
      ]);
      action.reissueDone = true;
      action.reissued = reissued.issued;
      if (revision !== rev) return 'interrupted';
    }
    action.state = 'waiting';
    const outcome = await waitForGate(action, rev);
    if (outcome !== 'passed') return outcome;
    action.state = 'done';
    action.completedAt = isoTime();
    state.stepDeadline = 0;
    return 'done';
  }

  publish();
  let stepsDoneThisRun = 0;
  while (state.actionIndex < state.actions.length) {
    const action = state.actions[state.actionIndex];
    if (!action) break;
    const rev = revision;
    // Between steps is the natural place to cut a long history (once this run has done a step, so a
    // new run always makes progress); a long gate wait cuts it too.
    const atBoundary = action.state === 'pending' && stepsDoneThisRun > 0;
    const outcome = atBoundary && suggestContinueAsNew() ? 'continue-as-new' : await runAction(action, rev);
    if (outcome === 'continue-as-new') {
      await condition(allHandlersFinished);
      return continueAsNew<typeof caRotationWorkflow>(input, state);
    }
    if (outcome === 'done' && revision === rev) {
      state.actionIndex++;
      stepsDoneThisRun++;
    }
  }

  state.phase = state.phase === 'aborting' ? 'aborted' : state.phase === 'rolling-back' ? 'rolled-back' : 'completed';
  publishStep(state.phase);
  publish();
  await condition(allHandlersFinished);
  const status = currentStatus();
  return {
    status: status.status === 'RUNNING' ? 'COMPLETED' : status.status,
    mesh: input.mesh,
    from: state.from,
    to: state.to,
    steps: status.steps,
    meshVersions: state.meshVersions,
    signalsReceived: state.signalsReceived,
    startedAt: state.startedAt,
    completedAt: isoTime(),
  };
}

function publicAction(action: Action): ActionStatus {
  const { name, state, proxies, pending, startedAt, appliedAt, completedAt, meshVersion, reissued } = action;
  return { name, state, proxies, pending, startedAt, appliedAt, completedAt, meshVersion, reissued };
}
