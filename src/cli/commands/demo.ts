/**
 * `ca-rotate demo [--proxies N] [--to builtin|provided|vault] [--json] [--keep]`: the whole stack on
 * one machine and one rotation of `ca-1` (builtin) to a new `ca-2`, under live mTLS traffic.
 * Exit 0 only when the rotation completed with zero failed requests.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { statusQuery, type RotationStatus } from '../../workflows/messages';
import { rotationWorkflowId } from '../../mesh/insights';
import { EXIT_OK, EXIT_UNEXPECTED } from '../errors';
import { formatStatus, printJson } from '../output';
import { prepareTarget, startLocalStack, type LocalStack, type TargetBackendType } from '../stack';
import { startRotation } from '../start-rotation';

/** Loaded only in Kubernetes mode (see main.ts for why a require). */
function load<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}

export interface DemoOptions {
  proxies: number;
  to: TargetBackendType;
  json?: boolean;
  keep?: boolean;
  /** Kubernetes mode: etcd + kube-apiserver, the Mesh as a custom resource, our control plane like kuma-cp on Kubernetes. */
  kubernetes?: boolean;
}

export interface DemoSummary {
  status: string;
  proxies: number;
  durationMs: number;
  steps: { name: string; durationMs: number; proxies: { total: number; done: number } }[];
  traffic: { requests: number; ok: number; failed: number; failuresByReason: Record<string, number> };
  meshChanges: number;
  historyEvents: number;
  from: string;
  to: string;
  temporalUi?: string;
  /** Kubernetes mode: the API server, and how long etcd + kube-apiserver took to be ready. */
  kubernetes?: { server: string; apiServerReadyMs: number };
}

/** Versions of the Mesh so far: the control plane's history, or on Kubernetes the resource's generation. */
async function meshVersionCount(stack: LocalStack): Promise<number> {
  if (stack.kubernetes) return (await stack.kubernetes.target.getMesh(stack.mesh))?.generation ?? 0;
  return (await stack.cp.meshHistory(stack.mesh)).length;
}

/** The demo prints its own progress; the SDK's INFO lines (bundling, worker state) would bury it. */
function quietTemporalSdk(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // A runtime exists already (e.g. the demo runs inside a test process).
  }
}

const ms = (from?: string, to?: string) => (from && to ? Date.parse(to) - Date.parse(from) : 0);

export async function demoCommand(options: DemoOptions): Promise<number> {
  quietTemporalSdk();
  // With --json, stdout carries only the summary; progress goes to stderr.
  const say = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  const tty = !options.json && process.stdout.isTTY === true;
  const started = Date.now();
  const kube = options.kubernetes
    ? await load<typeof import('../kubernetes')>('../kubernetes').startKubernetesForStack({ log: (line) => say(`· ${line}`) })
    : undefined;
  const stack = await startLocalStack({
    ...(kube ? { kubernetes: { adminKubeconfig: kube.cluster.adminKubeconfig, controlPlaneKubeconfig: kube.controlPlaneKubeconfig, workerKubeconfig: kube.workerKubeconfig } } : {}),
    proxies: options.proxies,
    traffic: true,
    needVault: options.to === 'vault',
    // An existing Vault (VAULT_ADDR and VAULT_TOKEN) is used as it is; otherwise an OpenBao dev server starts.
    vault: process.env.VAULT_ADDR && process.env.VAULT_TOKEN ? { address: process.env.VAULT_ADDR, token: process.env.VAULT_TOKEN } : undefined,
    log: (line) => say(`· ${line}`),
  }).catch(async (err: unknown) => {
    await kube?.cluster.stop();
    throw err;
  });
  let keepRunning = false;
  try {
    const workflowId = rotationWorkflowId(stack.mesh);
    const uiLink = stack.temporal.uiUrl ? `${stack.temporal.uiUrl}/namespaces/${stack.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}` : undefined;
    say(`· ${options.proxies} proxies ready, live mTLS traffic running (${stack.dataplanes.stats().requests} requests so far)`);
    const target = await prepareTarget(stack, options.to);
    const before = await meshVersionCount(stack);
    const rotationStarted = Date.now();
    const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-1', target, taskQueue: stack.taskQueue });
    say(`· rotating mesh "${stack.mesh}": ca-1 (builtin) -> ca-2 (${options.to})`);
    if (uiLink) say(`· Temporal UI: ${uiLink}`);

    let printed = '';
    let drawn = 0;
    // One status query at a time, and none left in flight when the stack (and its connection) stops.
    let inFlight: Promise<void> = Promise.resolve();
    const poll = setInterval(() => {
      inFlight = inFlight.then(() => handle.query(statusQuery)).then((status: RotationStatus) => {
        const text = formatStatus(status, tty);
        if (text === printed) return;
        printed = text;
        if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[0J`);
        say(text);
        drawn = text.split('\n').length;
      }, () => {});
    }, 500);
    let result;
    try {
      result = await handle.result();
    } finally {
      clearInterval(poll);
      await inFlight;
    }
    const rotationMs = Date.now() - rotationStarted;
    // Let in-flight requests finish before the counters are read.
    await stack.dataplanes.stopTraffic();
    const traffic = stack.dataplanes.stats();
    const history = await handle.fetchHistory();
    const meshChanges = (await meshVersionCount(stack)) - before;
    const summary: DemoSummary = {
      status: result.status,
      proxies: options.proxies,
      durationMs: rotationMs,
      steps: result.steps.map((s) => ({ name: s.name, durationMs: ms(s.startedAt, s.completedAt), proxies: s.proxies })),
      traffic: { requests: traffic.requests, ok: traffic.ok, failed: traffic.failed, failuresByReason: traffic.failuresByReason },
      meshChanges,
      historyEvents: history.events?.length ?? 0,
      from: result.from,
      to: result.to,
      temporalUi: uiLink,
      ...(kube ? { kubernetes: { server: kube.cluster.server, apiServerReadyMs: kube.startMs } } : {}),
    };
    const ok = summary.status === 'COMPLETED' && summary.traffic.failed === 0;
    say('');
    say(`rotation ${summary.status} in ${(rotationMs / 1000).toFixed(1)} s (whole demo ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    for (const step of summary.steps) say(`  ${step.name.padEnd(15)} ${(step.durationMs / 1000).toFixed(2).padStart(7)} s  ${step.proxies.done}/${step.proxies.total} proxies`);
    say(`  traffic: ${summary.traffic.ok} requests ok, ${summary.traffic.failed} failed${summary.traffic.failed ? ` ${JSON.stringify(summary.traffic.failuresByReason)}` : ''}`);
    say(`  mesh changes: ${summary.meshChanges}${kube ? ' (new generations of the Mesh resource)' : ''}, workflow history events: ${summary.historyEvents}`);
    if (options.json) printJson(summary);
    if (options.keep) {
      keepRunning = true;
      say(`everything keeps running: Temporal UI ${stack.temporal.uiUrl ?? '(external)'}, control plane ${stack.controlPlane.url} (its CA: ${stack.controlPlane.caFile ?? 'system'}). Ctrl-C ends it.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
    return ok ? EXIT_OK : EXIT_UNEXPECTED;
  } finally {
    if (keepRunning) say('stopping');
    await stack.stop();
    await kube?.cluster.stop();
  }
}
