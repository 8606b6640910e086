import { ACTIONS, forwardActions, undoActions, type Action } from '../../../src/workflows/actions';
import { planRotation } from '../../../src/mesh/plan';
import type { Mesh } from '../../../src/mesh/schema';

const mesh = (enabledBackend: string, backends: string[]): Mesh => ({
  type: 'Mesh',
  name: 'default',
  mtls: { enabledBackend, backends: backends.map((name) => ({ name, type: 'builtin' })) },
});

const current = mesh('ca-1', ['ca-1']);
const planned = planRotation(current, mesh('ca-2', ['ca-2']));
if (!planned.ok) throw new Error('the test plan is invalid');
const backends = planned.plan;

describe('the action table', () => {
  it('the forward edits, one after the other, are the rotation plan', () => {
    let edited = current;
    const meshes = forwardActions(backends).map((action) => (edited = ACTIONS[action.name].edit(edited, backends)));
    expect(meshes).toEqual(backends.steps.map((s) => s.mesh));
  });

  it('each undo edit restores the mesh as it was before the edit it undoes', () => {
    const added = ACTIONS['add-backend'].edit(current, backends);
    const switched = ACTIONS['switch-enabled'].edit(added, backends);
    expect(ACTIONS['switch-back'].edit(switched, backends)).toEqual(added);
    expect(ACTIONS['remove-new'].edit(added, backends)).toEqual(current);
  });

  it('forward actions gate from the old backend to the new one, and wait for approval', () => {
    expect(forwardActions(backends).map((a) => [a.name, a.gate, a.reissue, a.approved])).toEqual([
      ['add-backend', { step: 'add-backend', from: 'ca-1', to: 'ca-2' }, false, false],
      ['switch-enabled', { step: 'switch-enabled', from: 'ca-1', to: 'ca-2' }, true, false],
      ['remove-old', { step: 'remove-old', from: 'ca-1', to: 'ca-2' }, false, false],
    ]);
  });
});

describe('undoActions', () => {
  const withStates = (...states: [Action['state'], boolean][]): Action[] =>
    forwardActions(backends).map((action, i) => ({ ...action, state: states[i]?.[0] ?? 'pending', applied: states[i]?.[1] ?? false }));

  it('nothing begun: nothing to undo', () => {
    expect(undoActions(withStates(['waiting-approval', false]), backends)).toEqual([]);
  });

  it('undoes what began, latest first, with the gates run back to the old backend, approved already', () => {
    const undo = undoActions(withStates(['done', true], ['applying', false]), backends);
    expect(undo.map((a) => [a.name, a.gate, a.reissue, a.approved])).toEqual([
      ['switch-back', { step: 'switch-enabled', from: 'ca-2', to: 'ca-1' }, true, true],
      ['remove-new', { step: 'remove-old', from: 'ca-2', to: 'ca-1' }, false, true],
    ]);
  });

  it('there is no undo past removing the old backend (so rollback is refused from there)', () => {
    expect(ACTIONS['remove-old'].undoneBy).toBeUndefined();
  });
});
