/**
 * The five things a rotation does to the Mesh, in one table: three forward (add the new backend,
 * switch `enabledBackend` to it, remove the old one) and two that undo them (switch back, remove the
 * new one). Each names its edit, the gate that must pass before the next action, whether proxy
 * certificates are re-issued after it, and what undoes it. Pure.
 */
import type { RotationStepName } from '../mesh/gates';
import { withBackend, withEnabledBackend, withoutBackend } from '../mesh/plan';
import type { Backend, Mesh } from '../mesh/schema';
import type { ActionName, ActionStatus } from './messages';

/** The two backends of a rotation: the enabled one it moves away `from`, and the new one (`to`). */
export interface RotationBackends {
  from: string;
  to: string;
  toBackend: Backend;
}

export interface ActionSpec {
  edit: (mesh: Mesh, backends: RotationBackends) => Mesh;
  /** The forward step whose predicate is the gate; `back` runs it from the new backend to the old one. */
  gate: { step: RotationStepName; direction: 'forward' | 'back' };
  /** Proxies get fresh certificates right after the edit: the issuing CA changed. */
  reissue: boolean;
  /** The action that undoes this one once it has begun; none means there is no way back past it. */
  undoneBy?: ActionName;
}

export const ACTIONS: Record<ActionName, ActionSpec> = {
  'add-backend': { edit: (mesh, b) => withBackend(mesh, b.toBackend), gate: { step: 'add-backend', direction: 'forward' }, reissue: false, undoneBy: 'remove-new' },
  'switch-enabled': { edit: (mesh, b) => withEnabledBackend(mesh, b.to), gate: { step: 'switch-enabled', direction: 'forward' }, reissue: true, undoneBy: 'switch-back' },
  'remove-old': { edit: (mesh, b) => withoutBackend(mesh, b.from), gate: { step: 'remove-old', direction: 'forward' }, reissue: false },
  'switch-back': { edit: (mesh, b) => withEnabledBackend(mesh, b.from), gate: { step: 'switch-enabled', direction: 'back' }, reissue: true },
  'remove-new': { edit: (mesh, b) => withoutBackend(mesh, b.to), gate: { step: 'remove-old', direction: 'back' }, reissue: false },
};

const FORWARD: readonly ActionName[] = ['add-backend', 'switch-enabled', 'remove-old'];

/** One action of a running rotation, as carried across continue-as-new. */
export interface Action extends ActionStatus {
  gate: { step: RotationStepName; from: string; to: string };
  reissue: boolean;
  approved: boolean;
  applied: boolean;
  reissueDone: boolean;
}

function newAction(name: ActionName, backends: Pick<RotationBackends, 'from' | 'to'>, approved: boolean): Action {
  const { step, direction } = ACTIONS[name].gate;
  const [from, to] = direction === 'forward' ? [backends.from, backends.to] : [backends.to, backends.from];
  return { name, state: 'pending', proxies: { total: 0, done: 0 }, pending: [], gate: { step, from, to }, reissue: ACTIONS[name].reissue, approved, applied: false, reissueDone: false };
}

export function forwardActions(backends: Pick<RotationBackends, 'from' | 'to'>): Action[] {
  return FORWARD.map((name) => newAction(name, backends, false));
}

/** The action has changed the mesh, or its change is in flight. */
export function began(action: Action): boolean {
  return action.applied || action.state === 'applying';
}

/** What undoes the actions that began, latest first; asking for the undo is its approval. */
export function undoActions(actions: readonly Action[], backends: Pick<RotationBackends, 'from' | 'to'>): Action[] {
  return actions
    .filter(began)
    .reverse()
    .flatMap((action) => ACTIONS[action.name].undoneBy ?? [])
    .map((name) => newAction(name, backends, true));
}

export function publicAction(action: Action): ActionStatus {
  const { name, state, proxies, pending, startedAt, appliedAt, completedAt, meshVersion, reissued } = action;
  return { name, state, proxies, pending, startedAt, appliedAt, completedAt, meshVersion, reissued };
}
