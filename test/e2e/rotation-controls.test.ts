/**
 * Controlling a running rotation: manual approval, pause/resume, abort, rollback, one rotation per
 * mesh, and the refusals that keep an operator from doing something that makes no sense now.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { prepareTarget, type LocalStack } from '../../src/cli/stack';
import { startRotation } from '../../src/cli/start-rotation';
import { abortUpdate, approveUpdate, pauseUpdate, resumeUpdate, rollbackUpdate } from '../../src/workflows/messages';
import { DataplaneControlPlaneClient } from '../../src/dataplane/control-plane-client';
import { burnCpuDuringFile, dataplaneToken, expectNoTrustFailure, startTestStack, uniqueName, waitForStatus } from './support';

const PROXIES = 10;

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return String((err.cause as Error | undefined)?.message ?? err.message);
    throw err;
  }
  throw new Error('the update was accepted, but it should have been refused');
}

burnCpuDuringFile();

describe('controlling a rotation', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startTestStack({ proxies: PROXIES, mesh: uniqueName('ctl') });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('waits for approval at every step, refuses a second rotation of the same mesh, and pauses between steps', async () => {
    const target = await prepareTarget(stack, 'provided', 'ca-2');
    const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-1', target, taskQueue: stack.taskQueue, options: { approval: 'manual' } });

    await expect(startRotation(stack.client, { mesh: stack.mesh, from: 'ca-1', target, taskQueue: stack.taskQueue })).rejects.toThrow(/already running/);

    let status = await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'add-backend');
    // Nothing is applied before approval.
    expect((await stack.cp.getMesh(stack.mesh))?.mesh.mtls?.backends?.map((b) => b.name)).toEqual(['ca-1']);
    expect(await refusal(handle.executeUpdate(resumeUpdate))).toMatch(/not paused/);

    await handle.executeUpdate(approveUpdate);
    status = await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'switch-enabled');
    expect(status.steps[0]).toMatchObject({ name: 'add-backend', state: 'done', proxies: { total: PROXIES, done: PROXIES } });

    // Paused: approval is given, but the step does not start until resume.
    await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'change freeze' }] });
    expect(await refusal(handle.executeUpdate(pauseUpdate, { args: [{}] }))).toMatch(/already paused \(change freeze\)/);
    await handle.executeUpdate(approveUpdate);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await stack.cp.getMesh(stack.mesh))?.mesh.mtls?.enabledBackend).toBe('ca-1');
    await handle.executeUpdate(resumeUpdate);

    status = await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'remove-old');
    expect((await stack.cp.getMesh(stack.mesh))?.mesh.mtls?.enabledBackend).toBe('ca-2');
    expect(await refusal(handle.executeUpdate(abortUpdate))).toMatch(/already been switched.*use rollback/);
    await handle.executeUpdate(approveUpdate);
    const result = await handle.result();
    expect(result.status).toBe('COMPLETED');
    await expect(handle.executeUpdate(approveUpdate)).rejects.toThrow();
    expectNoTrustFailure(stack.dataplanes.stats());
  });

  it('aborts before the switch: the new backend is removed again and proxies trust only the old CA', async () => {
    const target = await prepareTarget(stack, 'builtin', 'ca-3');
    const versionsBefore = (await stack.cp.meshHistory(stack.mesh)).length;
    const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-2', target, taskQueue: stack.taskQueue, options: { approval: 'manual' } });
    await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'add-backend');
    await handle.executeUpdate(approveUpdate);
    await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'switch-enabled');
    expect(await handle.executeUpdate(abortUpdate)).toMatch(/aborting/);
    const result = await handle.result();
    expect(result.status).toBe('ABORTED');
    expect(result.steps.map((s) => `${s.name}:${s.state}`)).toEqual(['add-backend:done', 'remove-new:done']);
    const mesh = (await stack.cp.getMesh(stack.mesh))?.mesh;
    expect(mesh?.mtls?.enabledBackend).toBe('ca-2');
    expect(mesh?.mtls?.backends?.map((b) => b.name)).toEqual(['ca-2']);
    expect((await stack.cp.meshHistory(stack.mesh)).length - versionsBefore).toBe(2);
    const insights = await stack.cp.listDataplaneInsights(stack.mesh);
    expect(insights.every((p) => p.mTLS.issuedBackend === 'ca-2' && p.mTLS.supportedBackends.join() === 'ca-2')).toBe(true);
    expectNoTrustFailure(stack.dataplanes.stats());
  });

  it('rolls back after the switch: back to the old CA, re-issued, new backend removed; refused once step 3 began', async () => {
    const target = await prepareTarget(stack, 'builtin', 'ca-4');
    const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-2', target, taskQueue: stack.taskQueue, options: { approval: 'manual' } });
    await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'add-backend');
    await handle.executeUpdate(approveUpdate);
    await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'switch-enabled');
    await handle.executeUpdate(approveUpdate);
    await waitForStatus(handle, (s) => s.waitingForApproval && s.step === 'remove-old');
    const insightsSwitched = await stack.cp.listDataplaneInsights(stack.mesh);
    expect(insightsSwitched.every((p) => p.mTLS.issuedBackend === 'ca-4')).toBe(true);

    expect(await handle.executeUpdate(rollbackUpdate)).toMatch(/rolling back to "ca-2"/);
    expect(await refusal(handle.executeUpdate(rollbackUpdate))).toMatch(/rolling-back is already in progress/);
    const result = await handle.result();
    expect(result.status).toBe('ROLLED_BACK');
    expect(result.steps.map((s) => s.name)).toEqual(['add-backend', 'switch-enabled', 'switch-back', 'remove-new']);
    const mesh = (await stack.cp.getMesh(stack.mesh))?.mesh;
    expect(mesh?.mtls?.enabledBackend).toBe('ca-2');
    expect(mesh?.mtls?.backends?.map((b) => b.name)).toEqual(['ca-2']);
    const insights = await stack.cp.listDataplaneInsights(stack.mesh);
    expect(insights.every((p) => p.mTLS.issuedBackend === 'ca-2' && p.mTLS.supportedBackends.join() === 'ca-2')).toBe(true);
    expectNoTrustFailure(stack.dataplanes.stats());

    // Once step 3 has begun there is nothing left to roll back to.
    const again = await prepareTarget(stack, 'builtin', 'ca-5');
    const second = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-2', target: again, taskQueue: stack.taskQueue, options: { approval: 'manual' } });
    await waitForStatus(second, (s) => s.waitingForApproval && s.step === 'add-backend');
    await second.executeUpdate(approveUpdate);
    await waitForStatus(second, (s) => s.waitingForApproval && s.step === 'switch-enabled');
    await second.executeUpdate(approveUpdate);
    await waitForStatus(second, (s) => s.waitingForApproval && s.step === 'remove-old');
    await second.executeUpdate(approveUpdate);
    await waitForStatus(second, (s) => s.step === 'remove-old' && s.steps[2]?.state !== 'waiting-approval' && s.steps[2]?.state !== 'pending');
    const reason = await refusal(second.executeUpdate(rollbackUpdate)).catch((err: Error) => err.message);
    expect(reason).toMatch(/step 3 has begun|has finished|already completed/);
    expect((await second.result()).status).toBe('COMPLETED');
  });

  it('pauses a step that outlives its timeout, names the stragglers, and goes on after resume', async () => {
    // An offline proxy that never acks: the gate cannot pass while the policy says wait.
    const target = await prepareTarget(stack, 'builtin', 'ca-6');
    const stragglerToken = await dataplaneToken(stack, 'straggler');
    const straggler = await import('../../src/dataplane/host').then((m) =>
      m.startDataplaneHost({ controlPlaneUrl: stack.controlPlane.url, token: stragglerToken, caPem: stack.controlPlane.caPem, mesh: stack.mesh, count: 1, namePrefix: 'straggler' }),
    );
    await straggler.waitUntilReady(30_000);
    await straggler.stop(); // now offline
    const handle = await startRotation(stack.client, {
      mesh: stack.mesh,
      from: 'ca-5',
      target,
      taskQueue: stack.taskQueue,
      options: { stepTimeoutMs: 2_000, reconcileIntervalMs: 500, offlineProxies: { mode: 'wait' } },
    });
    const paused = await waitForStatus(handle, (s) => s.paused, 30_000);
    expect(paused.step).toBe('add-backend');
    expect(paused.pauseReason).toMatch(/timed out.*1 of 11 proxies.*straggler-0/);
    expect(paused.steps[0]?.pending).toEqual(['straggler-0']);
    // The rotation never moves on by itself.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await stack.cp.getMesh(stack.mesh))?.mesh.mtls?.enabledBackend).toBe('ca-5');
    // The operator removes the dead proxy and resumes.
    await new DataplaneControlPlaneClient(stack.controlPlane.url, stragglerToken, stack.controlPlane.caPem).deregisterProxy(stack.mesh, 'straggler-0');
    await handle.executeUpdate(resumeUpdate);
    expect((await handle.result()).status).toBe('COMPLETED');
    expectNoTrustFailure(stack.dataplanes.stats());
  });

  it('continues as new mid-rotation, carrying its state, and still completes with three mesh changes', async () => {
    const target = await prepareTarget(stack, 'builtin', 'ca-7');
    const before = (await stack.cp.meshHistory(stack.mesh)).length;
    const handle = await startRotation(stack.client, {
      mesh: stack.mesh,
      from: 'ca-6',
      target,
      taskQueue: stack.taskQueue,
      options: { continueAsNewAfterEvents: 10, approval: 'manual' },
    });
    for (const step of ['add-backend', 'switch-enabled', 'remove-old']) {
      await waitForStatus(handle, (s) => s.waitingForApproval && s.step === step);
      await handle.executeUpdate(approveUpdate);
    }
    const result = await handle.result();
    expect(result.status).toBe('COMPLETED');
    expect(result.steps.map((s) => `${s.name}:${s.state}`)).toEqual(['add-backend:done', 'switch-enabled:done', 'remove-old:done']);
    expect((await stack.cp.meshHistory(stack.mesh)).length - before).toBe(3);
    // The result came from a later run than the first one: the history was cut and the state carried.
    const description = await handle.describe();
    expect(description.runId).not.toBe(handle.firstExecutionRunId);
  });

  it('with exclude-after, an offline proxy is left out of the gates and of the control plane\'s admission alike: the rotation completes', async () => {
    const target = await prepareTarget(stack, 'builtin', 'ca-8');
    const lostToken = await dataplaneToken(stack, 'lost');
    const lost = await import('../../src/dataplane/host').then((m) =>
      m.startDataplaneHost({ controlPlaneUrl: stack.controlPlane.url, token: lostToken, caPem: stack.controlPlane.caPem, mesh: stack.mesh, count: 1, namePrefix: 'lost' }),
    );
    await lost.waitUntilReady(30_000);
    await lost.stop(); // gone without a word: registered, offline
    const before = (await stack.cp.meshHistory(stack.mesh)).length;
    const from = (await stack.cp.getMesh(stack.mesh))?.mesh.mtls?.enabledBackend ?? '';
    try {
      const handle = await startRotation(stack.client, {
        mesh: stack.mesh,
        from,
        target,
        taskQueue: stack.taskQueue,
        options: { offlineProxies: { mode: 'exclude', afterMs: 1_000 }, reconcileIntervalMs: 500 },
      });
      const result = await handle.result();
      expect(result.status).toBe('COMPLETED');
      // Every edit after the first was admitted with the lost proxy left out, and says so in the history.
      const history = (await stack.cp.meshHistory(stack.mesh)).slice(before);
      expect(history.map((entry) => entry.excluded)).toEqual([expect.any(Array), ['lost-0'], ['lost-0']]);
      expectNoTrustFailure(stack.dataplanes.stats());
    } finally {
      await new DataplaneControlPlaneClient(stack.controlPlane.url, lostToken, stack.controlPlane.caPem).deregisterProxy(stack.mesh, 'lost-0');
    }
  });
});
