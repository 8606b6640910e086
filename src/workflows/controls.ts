/**
 * The rotation's messages: the status query and the acks signal from the first moment, then the
 * operator's controls (pause, resume, approve, abort, rollback). Each handler is one call into
 * `Rotation`; each validator refuses, with the reason, a control that makes no sense now (a refused
 * update leaves no trace in history).
 */
import { setHandler } from '@temporalio/workflow';
import { ACTIONS, began } from './actions';
import { abortUpdate, approveUpdate, pauseUpdate, proxyAcksSignal, resumeUpdate, rollbackUpdate, statusQuery } from './messages';
import type { Rotation } from './rotation-state';

/** Registered before preflight: acks may arrive early, and the CLI asks for status at once. */
export function registerListeners(rotation: Rotation): void {
  setHandler(proxyAcksSignal, (batch) => rotation.receiveAcks(batch));
  setHandler(statusQuery, () => rotation.status());
}

/** Registered once the rotation knows its backends; updates sent earlier wait for them. */
export function registerControls(rotation: Rotation): void {
  setHandler(pauseUpdate, (request) => rotation.pause(request.reason), { validator: (_request) => refusePause(rotation) });
  setHandler(resumeUpdate, () => rotation.resume(), { validator: () => refuseResume(rotation) });
  setHandler(approveUpdate, () => rotation.approve(), { validator: () => refuseApprove(rotation) });
  setHandler(abortUpdate, () => rotation.abort(), { validator: () => refuseUndo(rotation, 'abort') });
  setHandler(rollbackUpdate, () => rotation.rollback(), { validator: () => refuseUndo(rotation, 'rollback') });
}

function refusePause(rotation: Rotation): void {
  if (rotation.isFinished()) throw new Error('the rotation has finished: nothing to pause');
  if (rotation.state.paused) throw new Error(`already paused (${rotation.state.pauseReason ?? 'no reason given'})`);
}

function refuseResume(rotation: Rotation): void {
  if (!rotation.state.paused) throw new Error('the rotation is not paused');
}

function refuseApprove(rotation: Rotation): void {
  if (rotation.options.approval !== 'manual') throw new Error('this rotation runs with --approval auto: there is nothing to approve');
  const action = rotation.currentAction();
  if (!action || action.state !== 'waiting-approval') throw new Error(`no step is waiting for approval (current: ${action?.name ?? 'none'}, ${action?.state ?? 'finished'})`);
}

/** Abort undoes a rotation that has not switched yet; rollback also undoes the switch, up to the point of no return. */
function refuseUndo(rotation: Rotation, control: 'abort' | 'rollback'): void {
  const { state } = rotation;
  if (rotation.isFinished()) throw new Error(`the rotation has finished: nothing to ${control === 'abort' ? 'abort' : 'roll back'}`);
  if (state.phase !== 'rotating') throw new Error(`an ${state.phase} is already in progress`);
  if (control === 'abort' && state.actions.some((a) => a.name === 'switch-enabled' && began(a))) {
    throw new Error(`enabledBackend has already been switched to "${state.to}": use rollback to switch back`);
  }
  if (state.actions.some((a) => began(a) && !ACTIONS[a.name].undoneBy)) {
    throw new Error(`step 3 has begun: the old backend "${state.from}" is being removed, so there is nothing left to roll back to`);
  }
}
