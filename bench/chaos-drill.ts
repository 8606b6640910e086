/**
 * One chaos drill: a full rotation (auto approval) of a mesh of N proxies with live mTLS traffic, while
 * a scheduler injects faults at random times: kill -9 of a worker (two serve the task queue), of the
 * Temporal dev server (restarted on its database) and of the control plane (restarted on its store);
 * dropped proxy streams; a proxy host stopped with SIGSTOP; CPU starvation; an OpenBao outage for a
 * vault target. Everything random comes from the seed, so a run's schedule is reproduced from it.
 *
 * Every run checks the invariants: the rotation completes, no request fails on trust (other failures,
 * timeouts above all, are counted apart and bounded), exactly three new mesh versions, at most one
 * recorded certificate per proxy for the switch, and a bounded workflow history.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareTarget, startLocalStack, type LocalStack, type TargetBackendType } from '../src/cli/stack';
import { startRotation } from '../src/cli/start-rotation';
import type { RunningControlPlane } from '../src/controlplane/server';
import { splitFailures } from '../src/dataplane/failure-reason';
import { startOpenBaoDevServer, type OpenBaoDevServer } from '../src/devstack/openbao';
import { freePort } from '../src/devstack/ports';
import { startTemporalDevServer, type TemporalDevServer } from '../src/devstack/temporal';
import { statusQuery, type RotationResult, type RotationStatus } from '../src/workflows/messages';
import { startControlPlaneProcess, startDataplanesProcess, startWorkerProcess, type CliProcess } from './processes';
import { seededRandom } from './seeded-random';

export const FAULT_KINDS = ['worker-kill', 'temporal-kill', 'cp-kill', 'stream-drop', 'host-stop', 'cpu-starve', 'vault-outage'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Other failures (timeouts, dropped connections) allowed: this share of requests, plus a few per fault. */
export const OTHER_FAILURE_SHARE = 0.05;
export const OTHER_FAILURES_PER_FAULT = 20;
/** Recorded certificates per proxy during the rotation: the switch issues exactly one. */
export const MAX_ISSUANCES_PER_PROXY = 1;
/** History events of the rotation, whatever the faults (a quiet rotation takes about 80). */
export const MAX_HISTORY_EVENTS = 400;
const ROTATION_TIMEOUT_MS = 15 * 60_000;

export interface ScheduledFault {
  kind: FaultKind;
  /** After the rotation started. */
  atMs: number;
  /** How long the fault lasts (down time, stop time, outage, starvation). */
  forMs: number;
}

export interface DrillPlan {
  seed: number;
  proxies: number;
  to: TargetBackendType;
  faults: ScheduledFault[];
}

export interface DrillRecord extends DrillPlan {
  status: string;
  rotationMs: number;
  steps: { name: string; durationMs: number }[];
  traffic: { requests: number; trustFailures: number; otherFailures: number; failuresByReason: Record<string, number> };
  newMeshVersions: number;
  maxIssuancesPerProxy: number;
  historyEvents: number;
  /** Faults as they happened (ms after start) and what they did. */
  events: string[];
  violations: string[];
}

/**
 * The run's schedule from its seed: the target backend, then 3 to 5 fault kinds (each at most once,
 * vault outages only for a vault target) at random times in the first `windowMs` of the rotation.
 */
export function planDrill(seed: number, proxies: number, options: { windowMs?: number; kinds?: readonly FaultKind[] } = {}): DrillPlan {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const to: TargetBackendType = random() < 0.3 ? 'vault' : 'provided';
  const windowMs = options.windowMs ?? 10_000;
  const candidates = [...(options.kinds ?? FAULT_KINDS)].filter((kind) => kind !== 'vault-outage' || to === 'vault');
  const count = Math.min(candidates.length, 3 + Math.floor(random() * 3));
  const faults: ScheduledFault[] = [];
  for (let i = 0; i < count; i++) {
    const kind = pick(candidates);
    candidates.splice(candidates.indexOf(kind), 1);
    faults.push({ kind, atMs: Math.round(random() * windowMs), forMs: 1_000 + Math.round(random() * 4_000) });
  }
  faults.sort((a, b) => a.atMs - b.atMs);
  return { seed, proxies, to, faults };
}

export interface DrillSettings {
  temporalBinary: string;
  /** The in-process proxies apply each config after a random delay up to this: steps last about as long, so faults land inside the rotation. */
  propagationJitterMs?: number;
  baoBinary?: string;
  workDir?: string;
  log?: (line: string) => void;
}

/** The part of the proxies that runs in its own process, so a drill can SIGSTOP it. */
const FAR_HOST_SHARE = 0.1;

export async function runDrill(plan: DrillPlan, settings: DrillSettings): Promise<DrillRecord> {
  const log = settings.log ?? (() => undefined);
  const workDir = settings.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `ca-rotate-chaos-${plan.seed}-`));
  const mesh = `chaos-${plan.seed}`;
  const started = Date.now();
  const events: string[] = [];
  const note = (line: string) => {
    events.push(`${Date.now() - rotationStart}ms ${line}`);
    log(`[seed ${plan.seed}] ${line}`);
  };
  let rotationStart = started;

  const temporalDb = path.join(workDir, 'temporal.db');
  const temporalPorts = { port: await freePort(), uiPort: await freePort() };
  const startTemporalServer = () => startTemporalDevServer({ binary: settings.temporalBinary, dbFile: temporalDb, ...temporalPorts, logFile: path.join(workDir, 'temporal.log') });
  let temporal: TemporalDevServer = await startTemporalServer();
  let bao: OpenBaoDevServer | undefined;
  if (plan.to === 'vault') {
    if (!settings.baoBinary) throw new Error('a vault target needs the OpenBao binary');
    bao = await startOpenBaoDevServer({ binary: settings.baoBinary });
  }
  let controlPlane: (RunningControlPlane & { process: CliProcess }) | undefined;
  let stack: LocalStack | undefined;
  const workers: CliProcess[] = [];
  let farHost: CliProcess | undefined;
  const burners = new Set<ChildProcess>();
  const pending = new Set<Promise<void>>();
  try {
    stack = await startLocalStack({
      mesh,
      proxies: plan.proxies - Math.round(plan.proxies * FAR_HOST_SHARE),
      traffic: { concurrency: 8 },
      propagationJitterMs: settings.propagationJitterMs,
      temporal: { address: temporal.address, namespace: temporal.namespace },
      vault: bao ? { address: bao.address, token: bao.token } : undefined,
      inProcessWorker: false,
      workDir,
      taskQueue: `chaos-${plan.seed}`,
      startControlPlane: async (cpSettings) => {
        controlPlane = await startControlPlaneProcess(cpSettings, path.join(workDir, 'control-plane.log'));
        return controlPlane;
      },
    });
    const running = stack;
    const cpSettings = { dbFile: path.join(workDir, 'control-plane.db'), temporal: { address: temporal.address, namespace: temporal.namespace }, vault: running.vault };
    const startWorker = () => startWorkerProcess(running.workerEnv(), path.join(workDir, 'workers.log'));
    workers.push(await startWorker(), await startWorker());
    const farCount = Math.round(plan.proxies * FAR_HOST_SHARE);
    if (farCount > 0) {
      farHost = await startDataplanesProcess(
        { controlPlaneUrl: running.controlPlane.url, token: running.controlPlane.token, caFile: running.controlPlane.caFile, mesh, count: farCount, namePrefix: `${mesh}-far`, traffic: true },
        path.join(workDir, 'far-host.log'),
      );
    }
    await waitFor('every proxy online with a certificate', 300_000, async () => {
      const insights = await running.cp.listDataplaneInsights(mesh);
      return insights.length === plan.proxies && insights.every((p) => p.online && p.mTLS.issuedBackend === 'ca-1');
    });
    const issuedBefore = new Map((await running.cp.listDataplaneInsights(mesh)).map((p) => [p.name, p.mTLS.certificateRegenerations ?? 0]));
    const versionsBefore = (await running.cp.meshHistory(mesh)).length;
    const target = await prepareTarget(running, plan.to, 'ca-2');

    const inject = async (fault: ScheduledFault): Promise<void> => {
      const hold = () => new Promise((resolve) => setTimeout(resolve, fault.forMs));
      switch (fault.kind) {
        case 'worker-kill': {
          const victim = workers.shift();
          note(`kill -9 worker ${victim?.pid} (another worker serves the task queue); a new one in ${fault.forMs} ms`);
          await victim?.kill9();
          await hold();
          workers.push(await startWorker());
          note('replacement worker polling');
          return;
        }
        case 'temporal-kill':
          note(`kill -9 Temporal dev server; restart on the same database in ${fault.forMs} ms`);
          await temporal.process.kill9();
          await hold();
          temporal = await startTemporalServer();
          note('Temporal dev server back');
          return;
        case 'cp-kill': {
          const dead = controlPlane;
          if (!dead) return;
          note(`kill -9 control plane ${dead.process.pid}; restart on the same store in ${fault.forMs} ms`);
          await dead.process.kill9();
          await hold();
          controlPlane = await startControlPlaneProcess(cpSettings, path.join(workDir, 'control-plane.log'), { port: Number(new URL(dead.url).port), token: dead.token });
          note('control plane back');
          return;
        }
        case 'stream-drop':
          note(`drop the control plane streams of ${running.dataplanes.proxies.length} proxies for ${fault.forMs} ms`);
          running.dataplanes.dropControlPlaneStream(fault.forMs);
          return;
        case 'host-stop':
          note(`SIGSTOP proxy host ${farHost?.pid} for ${fault.forMs} ms`);
          farHost?.signal('SIGSTOP');
          await hold();
          farHost?.signal('SIGCONT');
          note('proxy host continued');
          return;
        case 'cpu-starve': {
          note(`CPU starvation: ${os.availableParallelism()} busy processes for ${fault.forMs} ms`);
          const started = Array.from({ length: os.availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
          for (const burner of started) burners.add(burner);
          await hold();
          for (const burner of started) {
            burner.kill('SIGKILL');
            burners.delete(burner);
          }
          note('CPU starvation over');
          return;
        }
        case 'vault-outage':
          note(`OpenBao outage (SIGSTOP) for ${fault.forMs} ms`);
          bao?.process.child.kill('SIGSTOP');
          await hold();
          bao?.process.child.kill('SIGCONT');
          note('OpenBao back');
          return;
      }
    };

    rotationStart = Date.now();
    note(`rotation of ${plan.proxies} proxies ca-1 -> ca-2 (${plan.to})`);
    const handle = await startRotation(running.client, { mesh, from: 'ca-1', target, taskQueue: running.taskQueue });
    for (const fault of plan.faults) {
      const timer = new Promise<void>((resolve) => setTimeout(resolve, fault.atMs)).then(() => inject(fault)).catch((error: unknown) => note(`fault ${fault.kind} failed: ${String(error)}`));
      pending.add(timer);
    }
    const outcome = await resultWithin(handle, ROTATION_TIMEOUT_MS);
    const rotationMs = Date.now() - rotationStart;
    note(`rotation ${outcome.status} after ${rotationMs} ms`);
    await Promise.all(pending);

    await running.dataplanes.stopTraffic();
    const local = running.dataplanes.stats();
    const far = farHost ? await farHostStats(farHost) : { requests: 0, failuresByReason: {} };
    const failuresByReason = { ...local.failuresByReason };
    for (const [reason, count] of Object.entries(far.failuresByReason)) failuresByReason[reason] = (failuresByReason[reason] ?? 0) + count;
    const { trust, other } = splitFailures(failuresByReason);
    const requests = local.requests + far.requests;
    const after = await running.cp.listDataplaneInsights(mesh);
    const maxIssuancesPerProxy = Math.max(0, ...after.map((p) => (p.mTLS.certificateRegenerations ?? 0) - (issuedBefore.get(p.name) ?? 0)));
    const newMeshVersions = (await running.cp.meshHistory(mesh)).length - versionsBefore;
    const historyEvents = (await handle.fetchHistory()).events?.length ?? 0;

    const violations: string[] = [];
    if (outcome.status !== 'COMPLETED') violations.push(`rotation ${outcome.status}${outcome.detail ? `: ${outcome.detail}` : ''}`);
    if (trust > 0) violations.push(`${trust} requests failed on trust`);
    const otherBound = Math.ceil(requests * OTHER_FAILURE_SHARE) + OTHER_FAILURES_PER_FAULT * plan.faults.length;
    if (other > otherBound) violations.push(`${other} other failures, more than the bound ${otherBound}`);
    if (newMeshVersions !== 3) violations.push(`${newMeshVersions} new mesh versions, not 3`);
    if (maxIssuancesPerProxy > MAX_ISSUANCES_PER_PROXY) violations.push(`a proxy got ${maxIssuancesPerProxy} certificates for one switch`);
    if (historyEvents > MAX_HISTORY_EVENTS) violations.push(`${historyEvents} history events, more than ${MAX_HISTORY_EVENTS}`);
    return {
      ...plan,
      status: outcome.status,
      rotationMs,
      steps: outcome.steps,
      traffic: { requests, trustFailures: trust, otherFailures: other, failuresByReason },
      newMeshVersions,
      maxIssuancesPerProxy,
      historyEvents,
      events,
      violations,
    };
  } finally {
    await Promise.allSettled([...pending]);
    for (const burner of burners) burner.kill('SIGKILL');
    farHost?.signal('SIGCONT');
    bao?.process.child.kill('SIGCONT');
    await farHost?.stop();
    for (const worker of workers) await worker.stop();
    await stack?.stop();
    await controlPlane?.stop();
    await bao?.stop();
    await temporal.stop();
    log(`[seed ${plan.seed}] done in ${Math.round((Date.now() - started) / 1000)} s (logs in ${workDir})`);
  }
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // A process of the drill is restarting: ask again.
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The workflow result, or its status when it did not finish in time (paused, naming stragglers). */
async function resultWithin(handle: WorkflowHandle, timeoutMs: number): Promise<{ status: string; detail?: string; steps: DrillRecord['steps'] }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const left = deadline - Date.now();
    try {
      const result = await Promise.race([
        handle.result() as Promise<RotationResult>,
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), left).unref()),
      ]);
      if (result === 'timeout') break;
      return {
        status: result.status,
        steps: result.steps.map((s) => ({ name: s.name, durationMs: s.startedAt && s.completedAt ? Date.parse(s.completedAt) - Date.parse(s.startedAt) : 0 })),
      };
    } catch (error) {
      if (error instanceof WorkflowFailedError) return { status: 'FAILED', detail: error.cause?.message ?? error.message, steps: [] };
      // The Temporal server was killed under the long poll: poll again once it is back.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  const status = (await handle.query(statusQuery).catch(() => undefined)) as RotationStatus | undefined;
  return { status: 'NOT_FINISHED', detail: status?.pauseReason ?? `still in step ${status?.step ?? '?'}`, steps: [] };
}

/** Stops the far host and reads its last status line (`requests ok N failed M (reason: n, ...)`). */
async function farHostStats(host: CliProcess): Promise<{ requests: number; failuresByReason: Record<string, number> }> {
  await host.stop();
  const line = host.output().filter((l) => l.includes('| requests ok ')).at(-1) ?? '';
  const match = /requests ok (\d+) failed (\d+)(?: \((.*)\))?$/.exec(line);
  if (!match) return { requests: 0, failuresByReason: {} };
  const failuresByReason: Record<string, number> = {};
  for (const part of (match[3] ?? '').split(', ').filter(Boolean)) {
    const split = part.lastIndexOf(': ');
    failuresByReason[part.slice(0, split)] = Number(part.slice(split + 2));
  }
  return { requests: Number(match[1]) + Number(match[2]), failuresByReason };
}

/** The runs as a Markdown table (docs/reliability.md holds the last one). */
export function drillTable(records: readonly DrillRecord[]): string {
  const rows = records.map((r) => {
    const faults = r.faults.map((f) => `${f.kind}@${(f.atMs / 1000).toFixed(1)}s/${(f.forMs / 1000).toFixed(1)}s`).join(', ');
    const outcome = r.violations.length === 0 ? 'PASS' : `FAIL: ${r.violations.join('; ')}`;
    return `| ${r.seed} | ${r.proxies} | ${r.to} | ${faults} | ${r.status} | ${(r.rotationMs / 1000).toFixed(1)} | ${r.traffic.requests} | ${r.traffic.trustFailures} | ${r.traffic.otherFailures} | ${r.newMeshVersions} | ${r.maxIssuancesPerProxy} | ${r.historyEvents} | ${outcome} |`;
  });
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  const byKind = FAULT_KINDS.map((kind) => {
    const times = records.filter((r) => r.faults.some((f) => f.kind === kind)).map((r) => r.rotationMs);
    if (times.length === 0) return `| ${kind} | 0 | | |`;
    return `| ${kind} | ${times.length} | ${seconds(times.reduce((a, b) => a + b, 0) / times.length)} | ${seconds(Math.max(...times))} |`;
  });
  const quiet = records.filter((r) => r.faults.length === 0).map((r) => r.rotationMs);
  return [
    '| seed | proxies | to | faults (kind@start/duration) | status | rotation s | requests | trust failures | other failures | new mesh versions | max certs per proxy | history events | outcome |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'Rotation time by fault class (runs that had it; each run has several):',
    '',
    '| fault | runs | mean rotation s | max rotation s |',
    '|---|---|---|---|',
    ...(quiet.length > 0 ? [`| none (baseline) | ${quiet.length} | ${seconds(quiet.reduce((a, b) => a + b, 0) / quiet.length)} | ${seconds(Math.max(...quiet))} |`] : []),
    ...byKind,
  ].join('\n');
}
