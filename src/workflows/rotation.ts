/**
 * The CA rotation workflow, top-down: preflight reads the mesh and plans the backends; then each
 * action in turn (add the new backend, switch `enabledBackend`, remove the old one; after abort or
 * rollback, the actions that undo them) is approved, applied, followed by re-issued certificates where
 * the CA changed, and held at its gate until every proxy has acknowledged it. The actions are one
 * table (actions.ts), the state and its bookkeeping a class (rotation-state.ts), proxy news its own
 * module (proxy-states.ts), the operator's controls another (controls.ts). Deterministic: no I/O, no
 * Node APIs; everything effectful is an activity.
 */
import {
  ApplicationFailure,
  type RetryPolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURES, type RotationActivities } from '../activities/types';
import { planRotation } from '../mesh/plan';
import type { Action } from './actions';
import { registerControls, registerListeners } from './controls';
import type { RotationInput, RotationResult } from './messages';
import { initialState, Rotation, type CarriedState } from './rotation-state';

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

export async function caRotationWorkflow(input: RotationInput, carried?: CarriedState): Promise<RotationResult> {
  const rotation = new Rotation(input, workflowInfo().workflowId);
  registerListeners(rotation);
  rotation.start(carried ?? (await preflightState(input)));
  registerControls(rotation);

  rotation.publish();
  let stepsDoneThisRun = 0;
  for (let action = rotation.currentAction(); action; action = rotation.currentAction()) {
    const revision = rotation.revision;
    // Between steps is the natural place to cut a long history (once this run has done a step, so a
    // new run always makes progress); a long gate wait cuts it too.
    const atBoundary = action.state === 'pending' && stepsDoneThisRun > 0;
    const outcome = atBoundary && rotation.historyTooLong() ? 'continue-as-new' : await runAction(rotation, action);
    if (outcome === 'continue-as-new') {
      await condition(allHandlersFinished);
      return continueAsNew<typeof caRotationWorkflow>(input, rotation.state);
    }
    if (outcome === 'done' && rotation.revision === revision) {
      rotation.state.actionIndex++;
      stepsDoneThisRun++;
    }
  }

  rotation.finish();
  await condition(allHandlersFinished);
  return rotation.result();
}

/** Reads the mesh and plans the rotation; a target that cannot be rotated to fails the workflow at once. */
async function preflightState(input: RotationInput): Promise<CarriedState> {
  upsertSearchAttributes({ MeshName: [input.mesh], RotationStep: ['preflight'] });
  const checked = await preflight.executeWithOptions({ summary: `preflight: read mesh "${input.mesh}", validate the target backend` }, [
    { mesh: input.mesh, target: input.target },
  ]);
  const planned = planRotation(checked.current, input.target);
  if (!planned.ok) {
    throw ApplicationFailure.nonRetryable(planned.errors.map((e) => `${e.path}: ${e.message}`).join('; '), 'InvalidRotationTarget');
  }
  return initialState(planned.plan, checked.current, checked.currentVersion);
}

/** One action to its gate: approval, the mesh edit, re-issue. Returns early when abort/rollback changed the plan. */
async function runAction(rotation: Rotation, action: Action): Promise<'done' | 'interrupted' | 'continue-as-new'> {
  const revision = rotation.revision;
  const replanned = (): boolean => rotation.revision !== revision;
  const mesh = rotation.input.mesh;
  rotation.begin(action);
  if (rotation.options.approval === 'manual' && !action.approved) {
    rotation.enter(action, 'waiting-approval');
    await condition(() => action.approved || replanned());
    if (replanned()) return 'interrupted';
  }
  if (!action.applied) {
    if (rotation.state.paused) {
      rotation.publish();
      await condition(() => !rotation.state.paused || replanned());
      if (replanned()) return 'interrupted';
    }
    rotation.enter(action, 'applying');
    const desired = rotation.desiredMesh(action);
    const { meshVersion } = rotation.state;
    const excludeOffline = rotation.offlineExcluded();
    const applied = await applyMeshVersion.executeWithOptions({ summary: `${action.name}: apply mesh version ${meshVersion + 1}` }, [
      // `previous`: a control plane without versions (Kong Mesh) writes only over what the rotation last wrote.
      { mesh, expectedVersion: meshVersion, previous: rotation.state.mesh, desired, actor: `${rotation.workflowId}: ${action.name}`, ...(excludeOffline.length > 0 ? { excludeOffline } : {}) },
    ]);
    rotation.recordApplied(action, desired, applied.version);
    if (replanned()) return 'interrupted';
  }
  if (action.reissue && !action.reissueDone) {
    rotation.enter(action, 'reissuing');
    const reissued = await reissueCertificates.executeWithOptions({ summary: `${action.name}: re-issue proxy certificates in batches` }, [
      { mesh, batchSize: rotation.options.reissueBatchSize },
    ]);
    rotation.recordReissued(action, reissued.issued);
    if (replanned()) return 'interrupted';
  }
  action.state = 'waiting';
  const outcome = await waitForGate(rotation, action, replanned);
  if (outcome !== 'passed') return outcome;
  rotation.recordPassed(action);
  return 'done';
}

/** Waits until every counted proxy has passed the action's gate; woken by acks, re-reads the proxies when idle. */
async function waitForGate(rotation: Rotation, action: Action, replanned: () => boolean): Promise<'passed' | 'interrupted' | 'continue-as-new'> {
  await reconcile(rotation);
  rotation.armStepDeadline();
  for (;;) {
    const gate = rotation.evaluateGate(action);
    if (gate.satisfied) return 'passed';
    if (replanned()) return 'interrupted';
    rotation.pauseIfTimedOut(action, gate);
    if (rotation.historyTooLong()) return 'continue-as-new';
    rotation.gateDirty = false;
    const woken = await condition(() => rotation.gateDirty || replanned(), rotation.gateNap());
    if (!woken) await reconcile(rotation);
  }
}

async function reconcile(rotation: Rotation): Promise<void> {
  const { mesh } = rotation.input;
  const snapshot = await snapshotProxies.executeWithOptions({ summary: `read proxy insights of mesh "${mesh}"` }, [{ mesh }]);
  rotation.proxies.mergeSnapshot(snapshot);
}
