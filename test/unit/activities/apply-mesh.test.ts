/**
 * Exactly-once mesh writes on a control plane without versions (Kong Mesh's REST API): read, compare
 * with what the rotation last wrote, then write. Against an in-memory mesh target.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { createRotationActivities } from '../../../src/activities/rotation';
import type { Mesh } from '../../../src/mesh/schema';
import { memoryMeshTarget } from './memory-target';

const mesh = (enabled: string, backends: string[]): Mesh => ({ type: 'Mesh', name: 'default', mtls: { enabledBackend: enabled, backends: backends.map((name) => ({ name, type: 'builtin' })) } });

function memoryTarget(initial: Mesh, numbered = false) {
  const { state, target } = memoryMeshTarget(initial, { numbered });
  const activities = createRotationActivities({ target, validateTargetBackend: async () => ({ errors: [], warnings: [] }), insightSettleMs: () => 0 });
  return { state, activities };
}

describe('applyMeshVersion without mesh versions', () => {
  const before = mesh('ca-1', ['ca-1']);
  const step1 = mesh('ca-1', ['ca-1', 'ca-2']);
  const input = { mesh: 'default', expectedVersion: 0, previous: before, desired: step1, actor: 'test' };

  it('writes over what the rotation last wrote, once; a retry after a lost reply finds its own write', async () => {
    const { state, activities } = memoryTarget(before);
    expect(await activities.applyMeshVersion(input)).toEqual({ version: 1, alreadyApplied: false });
    expect(await activities.applyMeshVersion(input)).toEqual({ version: 1, alreadyApplied: true });
    expect(state.writes).toBe(1);
    expect(state.mesh).toEqual(step1);
  });

  it('refuses, non-retryable, when someone else changed the mesh since the rotation wrote it', async () => {
    const { state, activities } = memoryTarget(mesh('ca-1', ['ca-1', 'ca-9']));
    const failure = await activities.applyMeshVersion(input).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'MeshChangedOutsideRotation', nonRetryable: true });
    expect(state.writes).toBe(0);
  });

  it('with revisions, a write that lost the race reads again and refuses the outside change', async () => {
    const { state, activities } = memoryTarget(before, true);
    state.beforeWrite = () => {
      state.mesh = mesh('ca-1', ['ca-1', 'ca-9']);
      state.revision++;
    };
    const failure = await activities.applyMeshVersion({ ...input, expectedVersion: 1 }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ type: 'MeshChangedOutsideRotation' });
    expect(state.writes).toBe(0);
  });
});
