/**
 * The rotation workflow's own logic (undo, step timeout, offline policy, continue-as-new) on the real
 * Temporal server with stubbed activities: a mesh and proxies in memory instead of a control plane,
 * so each case takes seconds. The e2e suites run the same controls against the whole stack.
 * `RECORD_HISTORIES=1` saves these runs as `stub-*` fixtures that the replay test replays.
 */
import { Client, Connection, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startRotation } from '../../src/cli/start-rotation';
import { rotationWorkflowId } from '../../src/mesh/insights';
import { bundleRotationWorkflows, createRotationWorker } from '../../src/worker';
import { abortUpdate, approveUpdate, resumeUpdate, rollbackUpdate, statusQuery, type RotationOptions, type RotationStatus } from '../../src/workflows/messages';
import type { caRotationWorkflow } from '../../src/workflows/rotation';
import { testServers } from '../harness/env';
import { meshWithBackends, StubMesh, stubActivities } from './stub-mesh';

const TASK_QUEUE = `stubbed-${randomBytes(3).toString('hex')}`;
const meshes = new Map<string, StubMesh>();
let client: Client;
let worker: Worker;
let workerConnection: NativeConnection;
let running: Promise<void>;

beforeAll(async () => {
  const servers = testServers();
  ({ worker, connection: workerConnection } = await createRotationWorker({
    temporalAddress: servers.temporalAddress,
    namespace: servers.temporalNamespace,
    taskQueue: TASK_QUEUE,
    activities: stubActivities(meshes),
    workflowBundle: await bundleRotationWorkflows(),
  }));
  running = worker.run();
  client = new Client({ connection: await Connection.connect({ address: servers.temporalAddress }), namespace: servers.temporalNamespace });
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await workerConnection?.close();
  await client?.connection.close();
});

/** A mesh "m-…" on ca-1 with proxies p-1..p-3 (the `offline` ones held back from the start), rotating to ca-2. */
async function startStubRotation(options: Partial<RotationOptions>, offline: string[] = []): Promise<{ mesh: StubMesh; handle: WorkflowHandleWithFirstExecutionRunId<typeof caRotationWorkflow> }> {
  const name = `m-${randomBytes(3).toString('hex')}`;
  const mesh = new StubMesh(name, meshWithBackends(name, 'ca-1', ['ca-1']), ['p-1', 'p-2', 'p-3']);
  for (const proxy of offline) mesh.hold(proxy, { online: false });
  meshes.set(name, mesh);
  const handle = await startRotation(client, { mesh: name, from: 'ca-1', target: meshWithBackends(name, 'ca-2', ['ca-2']), taskQueue: TASK_QUEUE, options });
  return { mesh, handle };
}

async function waitForStatus(handle: WorkflowHandle, predicate: (status: RotationStatus) => boolean): Promise<RotationStatus> {
  const deadline = Date.now() + 60_000;
  let last: RotationStatus | undefined;
  while (Date.now() < deadline) {
    last = await handle.query(statusQuery);
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`status did not reach the expected state; last: ${JSON.stringify(last)}`);
}

const stepStates = (steps: { name: string; state: string }[]): string[] => steps.map((s) => `${s.name}:${s.state}`);

/** `RECORD_HISTORIES=1` keeps this run's history as a fixture for the replay test. */
async function record(fixture: string, handle: WorkflowHandle, runId?: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
  fs.writeFileSync(path.resolve(__dirname, `../fixtures/histories/${fixture}.history.pb`), temporal.api.history.v1.History.encode(history).finish());
}

describe('undo', () => {
  it('abort before the switch removes the new backend again and re-issues nothing', async () => {
    const { mesh, handle } = await startStubRotation({ approval: 'manual', reconcileIntervalMs: 200 });
    await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'add-backend');
    await handle.executeUpdate(approveUpdate);
    await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'switch-enabled');
    expect(await handle.executeUpdate(abortUpdate)).toBe('aborting: the new backend "ca-2" is removed again');

    const result = await handle.result();
    expect(result.status).toBe('ABORTED');
    expect(stepStates(result.steps)).toEqual(['add-backend:done', 'remove-new:done']);
    expect(mesh.history()).toEqual(['ca-1 [ca-1,ca-2]', 'ca-1 [ca-1]']);
    expect(mesh.writes.map((w) => w.actor)).toEqual([`${handle.workflowId}: add-backend`, `${handle.workflowId}: remove-new`]);
    expect(result.meshVersions).toEqual([2, 3]);
    expect(mesh.reissues).toBe(0);
    await record('stub-abort-before-switch', handle);
  });

  it('rollback while the switch waits for a proxy interrupts the step, switches back, re-issues and removes the new backend', async () => {
    const { mesh, handle } = await startStubRotation({ approval: 'manual', reconcileIntervalMs: 200 });
    await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'add-backend');
    await handle.executeUpdate(approveUpdate);
    await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'switch-enabled');
    mesh.hold('p-2'); // trusts both CAs, keeps its certificate from ca-1
    await handle.executeUpdate(approveUpdate);
    // 'waiting' is visible before the gate's first count: wait for the count too.
    const waiting = await waitForStatus(handle, (s) => s.step === 'switch-enabled' && s.steps[1]?.state === 'waiting' && s.steps[1].proxies.total > 0);
    expect(waiting.steps[1]).toMatchObject({ proxies: { total: 3, done: 2 }, pending: ['p-2'] });

    expect(await handle.executeUpdate(rollbackUpdate)).toBe('rolling back to "ca-1"');
    mesh.release('p-2');
    const result = await handle.result();
    expect(result.status).toBe('ROLLED_BACK');
    expect(stepStates(result.steps)).toEqual(['add-backend:done', 'switch-enabled:interrupted', 'switch-back:done', 'remove-new:done']);
    expect(mesh.history()).toEqual(['ca-1 [ca-1,ca-2]', 'ca-2 [ca-1,ca-2]', 'ca-1 [ca-1,ca-2]', 'ca-1 [ca-1]']);
    // The switch and the switch back each re-issue every certificate.
    expect(mesh.reissues).toBe(2);
    await record('stub-rollback-during-switch', handle);
  });
});

describe('step timeout', () => {
  it('pauses a step whose gate outlives the timeout, names the straggler, and takes no further step until resume', async () => {
    const { mesh, handle } = await startStubRotation({ stepTimeoutMs: 1_000, reconcileIntervalMs: 200 }, ['p-3']);
    const paused = await waitForStatus(handle, (s) => s.paused);
    expect(paused.step).toBe('add-backend');
    expect(paused.pauseReason).toBe('step add-backend timed out after 1 s: 1 of 3 proxies have not acknowledged it (p-3)');
    expect(paused.steps[0]?.pending).toEqual(['p-3']);

    // The straggler comes back: the step's gate passes, but the next step waits for the operator.
    mesh.release('p-3');
    const gated = await waitForStatus(handle, (s) => s.steps[0]?.state === 'done');
    expect(gated.paused).toBe(true);
    expect(mesh.writes).toHaveLength(1);

    expect(await handle.executeUpdate(resumeUpdate)).toBe('resumed');
    const result = await handle.result();
    expect(result.status).toBe('COMPLETED');
    expect(mesh.history()).toEqual(['ca-1 [ca-1,ca-2]', 'ca-2 [ca-1,ca-2]', 'ca-2 [ca-2]']);
    await record('stub-step-timeout', handle);
  });

  it('leaves out a proxy offline longer than the exclude policy allows, and counts it as excluded', async () => {
    const { handle } = await startStubRotation({ offlineProxies: { mode: 'exclude', afterMs: 500 }, reconcileIntervalMs: 200 }, ['p-3']);
    const result = await handle.result();
    expect(result.status).toBe('COMPLETED');
    expect(result.steps.map((s) => s.proxies)).toEqual([
      { total: 2, done: 2 },
      { total: 2, done: 2 },
      { total: 2, done: 2 },
    ]);
    await record('stub-offline-excluded', handle);
  });
});

describe('continue-as-new', () => {
  /** The state the first run handed to the next one (the second argument of continue-as-new). */
  async function carriedState(handle: WorkflowHandle, runId: string): Promise<Record<string, unknown>> {
    const history = await client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    const last = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes;
    const payload = last?.input?.payloads?.[1]?.data;
    if (!payload) throw new Error('the first run did not continue as new with a carried state');
    return JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
  }

  it('between steps carries the state, and the next run goes on without repeating a step', async () => {
    const { mesh, handle } = await startStubRotation({ continueAsNewAfterEvents: 10, reconcileIntervalMs: 200 });
    const result = await handle.result();
    expect(result.status).toBe('COMPLETED');
    expect(stepStates(result.steps)).toEqual(['add-backend:done', 'switch-enabled:done', 'remove-old:done']);
    expect(mesh.history()).toEqual(['ca-1 [ca-1,ca-2]', 'ca-2 [ca-1,ca-2]', 'ca-2 [ca-2]']);
    expect(result.meshVersions).toEqual([2, 3, 4]);
    expect(mesh.reissues).toBe(1);

    const first = handle.firstExecutionRunId;
    expect((await client.workflow.getHandle(handle.workflowId).describe()).runId).not.toBe(first);
    const carried = await carriedState(handle, first);
    // The carried shape is a contract with rotations in flight: names and meanings stay.
    expect(Object.keys(carried).sort()).toEqual(
      ['actionIndex', 'actions', 'from', 'mesh', 'meshVersion', 'meshVersions', 'offlineSince', 'paused', 'phase', 'signalsReceived', 'startedAt', 'stepDeadline', 'to', 'toBackend'].sort(),
    );
    expect(carried).toMatchObject({ phase: 'rotating', from: 'ca-1', to: 'ca-2', actionIndex: 1, meshVersion: 2, meshVersions: [2], paused: false });
    expect((carried.actions as { name: string; applied: boolean }[]).map((a) => `${a.name}:${a.applied}`)).toEqual(['add-backend:true', 'switch-enabled:false', 'remove-old:false']);
    expect(result.startedAt).toBe(carried.startedAt);
    await record('stub-continue-as-new', handle, first);
  });

  it('while a gate waits, and the step is not applied again in the new run', async () => {
    const { mesh, handle } = await startStubRotation({ continueAsNewAfterEvents: 10, reconcileIntervalMs: 200 }, ['p-1']);
    const first = handle.firstExecutionRunId;
    const deadline = Date.now() + 60_000;
    while ((await client.workflow.getHandle(handle.workflowId).describe()).runId === first) {
      if (Date.now() > deadline) throw new Error('the rotation did not continue as new while its gate waited');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await handle.query(statusQuery)).step).toBe('add-backend');
    mesh.release('p-1');
    const result = await client.workflow.getHandle(rotationWorkflowId(mesh.name)).result();
    expect(result.status).toBe('COMPLETED');
    expect(mesh.history()).toEqual(['ca-1 [ca-1,ca-2]', 'ca-2 [ca-1,ca-2]', 'ca-2 [ca-2]']);
    await record('stub-continue-as-new-in-gate', handle, first);
  });
});
