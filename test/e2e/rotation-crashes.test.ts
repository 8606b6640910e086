/**
 * Durability drills: `kill -9` of the worker during step 2, `kill -9` of the Temporal server
 * mid-rotation (restarted on the same database file), and a control plane restart. Each rotation must
 * still complete, fail no request, and leave exactly three new mesh versions.
 */
import type { WorkflowHandle } from '@temporalio/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareTarget, type LocalStack } from '../../src/cli/stack';
import { startRotation } from '../../src/cli/start-rotation';
import { freePort } from '../../src/devstack/ports';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/devstack/temporal';
import { testServers } from '../harness/env';
import { approveSteps, burnCpuDuringFile, expectNoTrustFailure, spawnWorkerProcess, startTestStack, uniqueName, waitForOutput, waitForStatus } from './support';

const PROXIES = 12;
// Each drill waits out a crash: activity timeouts, server restarts, reconnects.
jest.setTimeout(600_000);

async function meshVersions(stack: LocalStack): Promise<number> {
  return (await stack.cp.meshHistory(stack.mesh)).length;
}

/** Approves step 3 once the rotation recovered, then checks the outcome every drill must have. */
async function expectCompletedWithThreeChanges(stack: LocalStack, handle: WorkflowHandle, versionsBefore: number): Promise<void> {
  // A replacement worker bundles its workflows first: minutes on a starved machine.
  await approveSteps(handle, ['remove-old'], 240_000);
  expect((await handle.result()).status).toBe('COMPLETED');
  expect((await meshVersions(stack)) - versionsBefore).toBe(3);
  expectNoTrustFailure(stack.dataplanes.stats());
}

burnCpuDuringFile();

describe('a rotation survives process crashes', () => {
  it('completes after the worker is killed with SIGKILL during step 2 and a new worker starts', async () => {
    const stack = await startTestStack({ proxies: PROXIES, mesh: uniqueName('kill-worker'), inProcessWorker: false });
    const logFile = path.join(stack.workDir, 'worker.log');
    const first = spawnWorkerProcess(stack.workerEnv(), logFile);
    let second: ReturnType<typeof spawnWorkerProcess> | undefined;
    try {
      // Bundling the workflow code takes a minute or more on a starved machine (the CPU burner runs).
      await waitForOutput(logFile, /worker polling/, 240_000);
      const before = await meshVersions(stack);
      const target = await prepareTarget(stack, 'provided', 'ca-2');
      // Re-issue one certificate per call so step 2 lasts long enough to die in.
      const handle = await startRotation(stack.client, {
        mesh: stack.mesh,
        from: 'ca-1',
        target,
        taskQueue: stack.taskQueue,
        options: { approval: 'manual', reissueBatchSize: 1 },
      });
      await approveSteps(handle, ['add-backend', 'switch-enabled']);
      await waitForStatus(handle, (s) => s.step === 'switch-enabled' && ['applying', 'reissuing', 'waiting'].includes(s.steps[1]?.state ?? ''), 20_000);
      first.kill('SIGKILL');
      console.log('worker killed during step 2');

      second = spawnWorkerProcess(stack.workerEnv(), logFile);
      await expectCompletedWithThreeChanges(stack, handle, before);
    } finally {
      first.kill('SIGKILL');
      // Wait for the new worker to drain and exit: a live child would keep the test process alive.
      if (second && second.exitCode === null) {
        const exited = new Promise((resolve) => second?.once('exit', resolve));
        second.kill('SIGTERM');
        await exited;
      }
      await stack.stop();
    }
  });

  it('completes after the Temporal server is killed with SIGKILL mid-rotation and restarted on the same database', async () => {
    const binary = testServers().temporalBinary;
    expect(binary).not.toBe('');
    const dbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-kill-')), 'temporal.db');
    const port = await freePort();
    const uiPort = await freePort();
    let server: TemporalDevServer = await startTemporalDevServer({ binary, dbFile, port, uiPort });
    const stack = await startTestStack({
      proxies: PROXIES,
      mesh: uniqueName('kill-temporal'),
      temporal: { address: server.address, namespace: server.namespace },
    });
    try {
      const before = await meshVersions(stack);
      const target = await prepareTarget(stack, 'builtin', 'ca-2');
      const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-1', target, taskQueue: stack.taskQueue, options: { approval: 'manual' } });
      await approveSteps(handle, ['add-backend', 'switch-enabled']);
      await server.process.kill9();
      console.log('Temporal server killed after approving step 2');
      await new Promise((r) => setTimeout(r, 1000));
      server = await startTemporalDevServer({ binary, dbFile, port, uiPort });

      await expectCompletedWithThreeChanges(stack, handle, before);
    } finally {
      await stack.stop();
      await server.stop();
    }
  });

  it('completes after the control plane restarts mid-rotation', async () => {
    const stack = await startTestStack({ proxies: PROXIES, mesh: uniqueName('restart-cp') });
    try {
      const before = await meshVersions(stack);
      const target = await prepareTarget(stack, 'provided', 'ca-2');
      const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-1', target, taskQueue: stack.taskQueue, options: { approval: 'manual' } });
      await approveSteps(handle, ['add-backend', 'switch-enabled']);
      await stack.restartControlPlane(1500);
      console.log('control plane restarted during step 2');
      await expectCompletedWithThreeChanges(stack, handle, before);
    } finally {
      await stack.stop();
    }
  });
});
