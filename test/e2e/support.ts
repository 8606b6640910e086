/**
 * Shared pieces of the end-to-end rotation tests: a whole stack (control plane, proxies with live
 * traffic, worker) on the test run's real Temporal and OpenBao servers, with a unique mesh and task
 * queue per stack so test files can run side by side.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../src/cli/stack';
import { splitFailures } from '../../src/dataplane/failure-reason';
import { bundleRotationWorkflows } from '../../src/worker';
import { approveUpdate, statusQuery, type ActionName, type RotationStatus } from '../../src/workflows/messages';
import { startCpuBurner, type CpuBurner } from '../harness/cpu-burner';
import { testServers } from '../harness/env';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundling the workflow code takes seconds: once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleRotationWorkflows();
  return bundle;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function startTestStack(options: Partial<LocalStackOptions> & { proxies: number }): Promise<LocalStack> {
  const servers = testServers();
  const mesh = options.mesh ?? uniqueName('e2e');
  return startLocalStack({
    temporal: { address: servers.temporalAddress, namespace: servers.temporalNamespace, uiUrl: servers.temporalUiUrl },
    vault: { address: servers.vaultAddress, token: servers.vaultToken },
    traffic: { concurrency: 4 },
    taskQueue: `q-${mesh}`,
    workflowBundle: await workflowBundle(),
    ...options,
    mesh,
  });
}

/** A data plane credential for another host of the stack's mesh, proxies `<namePrefix>-<i>` (the admin token is not for proxies). */
export function dataplaneToken(stack: LocalStack, namePrefix: string): Promise<string> {
  return stack.cp.issueToken({
    role: 'dataplane',
    name: namePrefix,
    dataplane: { mesh: stack.mesh, host: `${stack.mesh}-${namePrefix}`, namePrefix: `${namePrefix}-`, services: ['svc-0'] },
  });
}

export async function waitForStatus(
  handle: WorkflowHandle,
  predicate: (status: RotationStatus) => boolean,
  timeoutMs = 60_000,
): Promise<RotationStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: RotationStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = await handle.query(statusQuery);
      if (predicate(last)) return last;
    } catch {
      // No worker to answer for a moment (restarts): ask again.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`status did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

/** Every event of every run of the rotation (continue-as-new included), as JSON text. */
export async function historyText(handle: WorkflowHandle): Promise<{ text: string; events: number }> {
  const history = await handle.fetchHistory();
  const json = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), { longs: String, bytes: String });
  return { text: JSON.stringify(json), events: history.events?.length ?? 0 };
}

/** Secret values that must never appear in workflow history, in any encoding. */
export function secretNeedles(values: string[]): string[] {
  const needles = ['PRIVATE KEY'];
  for (const value of values.filter((v) => v.length >= 8)) {
    needles.push(value, Buffer.from(value).toString('base64'), Buffer.from(Buffer.from(value).toString('base64')).toString('base64'));
  }
  return needles;
}

/** Payloads in history are base64 JSON: decode every `data` field so needles match the plain text too. */
export function decodedPayloads(historyJson: string): string {
  const decoded: string[] = [];
  for (const match of historyJson.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)) {
    decoded.push(Buffer.from(match[1] ?? '', 'base64').toString('utf8'));
  }
  return `${historyJson}\n${decoded.join('\n')}`;
}

/** `ca-rotate worker` as a child process, so a test can `kill -9` it. */
export function spawnWorkerProcess(env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [path.resolve(__dirname, '../../bin/ca-rotate.js'), 'worker'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  return child;
}

export async function waitForOutput(file: string, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (fs.existsSync(file) && pattern.test(fs.readFileSync(file, 'utf8'))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${file} did not show ${pattern} within ${timeoutMs} ms:\n${fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''}`);
}

/** Approves each listed step of a manual-approval rotation as soon as it waits for approval. */
export async function approveSteps(handle: WorkflowHandle, steps: readonly ActionName[], timeoutMs = 60_000): Promise<void> {
  for (const step of steps) {
    await waitForStatus(handle, (s) => s.waitingForApproval && s.step === step, timeoutMs);
    await handle.executeUpdate(approveUpdate);
  }
}

/** Runs the test file on a machine kept busy: one busy process per core from before the first test to after the last. */
export function burnCpuDuringFile(): void {
  let burner: CpuBurner | undefined;
  beforeAll(() => {
    burner = startCpuBurner();
  });
  afterAll(async () => {
    await burner?.stop();
  });
}

/** Requests that fail for other reasons than trust (timeouts of a starved machine), at most this share. */
export const MAX_OTHER_FAILURE_SHARE = 0.05;

/** No request failed on trust; other failures (timeouts, reported apart) within the stated share. */
export function expectNoTrustFailure(stats: { requests: number; failuresByReason: Record<string, number> }): void {
  const { trust, other } = splitFailures(stats.failuresByReason);
  expect({ trust, failuresByReason: stats.failuresByReason }).toEqual({ trust: 0, failuresByReason: expect.any(Object) });
  expect(other).toBeLessThanOrEqual(Math.ceil(stats.requests * MAX_OTHER_FAILURE_SHARE));
}
