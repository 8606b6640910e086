/**
 * `npm run bench`: issuing throughput, then one full rotation (three steps, every ack, live mTLS traffic)
 * per mesh size. Prints one JSON line per case on stdout (progress on stderr); `npm run bench:check`
 * reads them and says which targets hold.
 *
 * Each rotation gets its own control plane and worker, as child processes so their peak memory (VmHWM)
 * is measured apart; the proxies run in this process and are not counted. One Temporal dev server
 * serves every size. Rotation time runs from `start` to the workflow result; starting the proxies and
 * issuing their first certificates is setup, reported apart.
 *
 * Settings: BENCH_PROXIES (comma list, default 100,1000,10000), BENCH_ISSUANCE=0 skips issuance,
 * BENCH_VAULT=0 skips its Vault case, BENCH_CERTIFICATES (per local issuance case, default 10000),
 * BENCH_TO (target backend of the rotations: builtin or provided, default provided).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { provideDevBinaries } from '../src/devstack/binaries';
import { startTemporal, type TemporalDevServer } from '../src/devstack/temporal';
import { prepareTarget, startLocalStack, type TargetBackendType } from '../src/cli/stack';
import { startRotation } from '../src/cli/start-rotation';
import { runIssuanceBench } from './issue';
import { procStatusBytes, startControlPlaneProcess, startWorkerProcess, type CliProcess } from './processes';
import { errorMessage } from '../src/mesh/errors';

/** One JSON line per rotation. Times in ms, memory in MiB. */
export interface RotationRecord {
  bench: 'rotation';
  proxies: number;
  to: TargetBackendType;
  status: string;
  rotationMs: number;
  steps: { name: string; durationMs: number; reissued?: number }[];
  historyEvents: number;
  signalsReceived: number;
  traffic: { requests: number; ok: number; failed: number; failuresByReason: Record<string, number> };
  peakRssMiB: { worker: number; controlPlane: number; workerPlusControlPlane: number; benchProcessWithProxies: number };
  setupMs: { proxiesReady: number; workerReady: number };
}

const MIB = 1024 * 1024;
const toMiB = (bytes: number | undefined) => Math.round((bytes ?? 0) / MIB);
const between = (from?: string, to?: string) => (from && to ? Date.parse(to) - Date.parse(from) : 0);
const progress = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
const emit = (record: object) => process.stdout.write(`${JSON.stringify(record)}\n`);

function sizesFromEnv(): number[] {
  const text = process.env.BENCH_PROXIES ?? '100,1000,10000';
  const sizes = text.split(',').map((part) => Number(part.trim()));
  if (sizes.some((size) => !Number.isInteger(size) || size < 2)) throw new Error(`BENCH_PROXIES must list whole numbers >= 2, got "${text}"`);
  return sizes;
}

function targetFromEnv(): TargetBackendType {
  const to = process.env.BENCH_TO ?? 'provided';
  if (to !== 'builtin' && to !== 'provided') throw new Error(`BENCH_TO must be builtin or provided, got "${to}"`);
  return to;
}

async function benchRotation(proxies: number, to: TargetBackendType, temporal: TemporalDevServer): Promise<RotationRecord> {
  const mesh = `bench-${proxies}`;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `ca-rotate-bench-${proxies}-`));
  let controlPlaneProcess: CliProcess | undefined;
  let proxiesStartedAt = 0;
  progress(`${proxies} proxies: starting the control plane (logs in ${workDir})`);
  const stack = await startLocalStack({
    mesh,
    proxies,
    traffic: true,
    temporal: { address: temporal.address, namespace: temporal.namespace },
    inProcessWorker: false,
    workDir,
    startControlPlane: async (settings) => {
      const started = await startControlPlaneProcess(settings, path.join(workDir, 'control-plane.log'));
      controlPlaneProcess = started.process;
      return started;
    },
    log: (line) => {
      if (line.startsWith(`starting ${proxies} data plane proxies`)) proxiesStartedAt = Date.now();
    },
  });
  let worker: CliProcess | undefined;
  try {
    const proxiesReady = Date.now() - proxiesStartedAt;
    progress(`${proxies} proxies ready with their first certificates in ${proxiesReady} ms; starting the worker`);
    const workerStartedAt = Date.now();
    worker = await startWorkerProcess(stack.workerEnv(), path.join(workDir, 'worker.log'));
    const workerReady = Date.now() - workerStartedAt;

    const target = await prepareTarget(stack, to);
    progress(`${proxies} proxies: rotating ca-1 -> ca-2 (${to})`);
    const rotationStartedAt = Date.now();
    const handle = await startRotation(stack.client, { mesh, from: 'ca-1', target, taskQueue: stack.taskQueue });
    const result = await handle.result();
    const rotationMs = Date.now() - rotationStartedAt;
    // In-flight requests finish before the counters are read.
    await stack.dataplanes.stopTraffic();
    const traffic = stack.dataplanes.stats();
    const history = await handle.fetchHistory();
    const workerPeak = worker.peakRssBytes();
    const controlPlanePeak = controlPlaneProcess?.peakRssBytes();
    progress(`${proxies} proxies: ${result.status} in ${rotationMs} ms, ${traffic.failed} of ${traffic.requests} requests failed`);
    return {
      bench: 'rotation',
      proxies,
      to,
      status: result.status,
      rotationMs,
      steps: result.steps.map((step) => ({ name: step.name, durationMs: between(step.startedAt, step.completedAt), ...(step.reissued !== undefined ? { reissued: step.reissued } : {}) })),
      historyEvents: history.events?.length ?? 0,
      signalsReceived: result.signalsReceived,
      traffic: { requests: traffic.requests, ok: traffic.ok, failed: traffic.failed, failuresByReason: traffic.failuresByReason },
      peakRssMiB: {
        worker: toMiB(workerPeak),
        controlPlane: toMiB(controlPlanePeak),
        workerPlusControlPlane: toMiB((workerPeak ?? 0) + (controlPlanePeak ?? 0)),
        benchProcessWithProxies: toMiB(procStatusBytes(process.pid, 'VmHWM')),
      },
      setupMs: { proxiesReady, workerReady },
    };
  } finally {
    await worker?.stop();
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const sizes = sizesFromEnv();
  const to = targetFromEnv();
  if (process.env.BENCH_ISSUANCE !== '0') {
    progress('issuance');
    const certificates = process.env.BENCH_CERTIFICATES ? Number(process.env.BENCH_CERTIFICATES) : undefined;
    try {
      await runIssuanceBench({ certificates, vault: process.env.BENCH_VAULT !== '0', emit });
    } catch (error) {
      // Vault may be unavailable here; the local cases have been printed already.
      progress(`issuance stopped early: ${errorMessage(error)}`);
    }
  }
  const { temporal: binary } = await provideDevBinaries(['temporal']);
  const temporal = await startTemporal({ binary });
  try {
    for (const proxies of sizes) emit(await benchRotation(proxies, to, temporal));
  } finally {
    await temporal.stop();
  }
}

main().then(
  // The SDK's connections may keep the event loop alive a while; the results are out.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
