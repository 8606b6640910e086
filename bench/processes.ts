/**
 * The control plane and the worker as child processes of the benchmark, so each one's memory is its own.
 * Both run as `node --import tsx src/cli/main.ts`: tsx loads in-process, so there is one node process per
 * component and its pid is the one to sample (`npx tsx` would put a launcher process in between).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { apiTlsFiles } from '../src/controlplane/api-tls';
import type { RunningControlPlane } from '../src/controlplane/server';
import type { ControlPlaneSettings } from '../src/cli/stack';
import { freePort } from '../src/devstack/ports';

const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
/** Extra node flags for the children, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (NODE_OPTIONS refuses --cpu-prof). */
const CHILD_NODE_ARGS = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

export interface CliProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Peak resident set size so far (VmHWM), bytes; undefined once the process is gone. */
  peakRssBytes(): number | undefined;
  /** SIGTERM, then SIGKILL if it has not exited after a while. */
  stop(): Promise<void>;
  /** `kill -9`: resolves once it is gone. */
  kill9(): Promise<void>;
  /** Sends a signal (SIGSTOP / SIGCONT for a drill); false when the process is gone. */
  signal(signal: NodeJS.Signals): boolean;
  /** Lines it printed on stdout so far. */
  output(): string[];
}

/** Every child still running when the benchmark exits (an error, Ctrl-C) is killed with it. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Reads a `kB` field of /proc/<pid>/status (Linux). */
export function procStatusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `ca-rotate <args>` and resolves once a line of its stdout matches `ready`. */
export async function startCliProcess(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, logFile: string): Promise<CliProcess & { readyLine: string }> {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [...CHILD_NODE_ARGS, '--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', log] });
  fs.closeSync(log);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // `exited` never rejects.
  void exited.then(() => running.delete(child));

  // The command's name for messages, past a leading `--kubeconfig FILE`.
  const command = args.find((arg, i) => !arg.startsWith('-') && args[i - 1] !== '--kubeconfig');
  const readyLine = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(`ca-rotate ${command} not ready after ${START_TIMEOUT_MS / 1000} s (log: ${logFile})`)), START_TIMEOUT_MS);
    const onExit = (code: number | null) => fail(new Error(`ca-rotate ${command} exited with code ${code} before it was ready (log: ${logFile})`));
    const onData = (chunk: Buffer) => {
      fs.appendFileSync(logFile, chunk);
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n').find((candidate) => ready.test(candidate));
      if (line === undefined) return;
      cleanup();
      resolve(line);
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout?.off('data', onData);
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout?.on('data', (chunk: Buffer) => fs.appendFileSync(logFile, chunk));
    };
    const fail = (error: Error) => {
      cleanup();
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('exit', onExit);
    child.stdout?.on('data', onData);
  });

  const pid = child.pid as number;
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    pid,
    logFile,
    readyLine,
    peakRssBytes: () => (!gone() ? procStatusBytes(pid, 'VmHWM') : undefined),
    async stop() {
      if (gone()) return;
      // A stopped process would never see the SIGTERM.
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
    async kill9() {
      if (gone()) return;
      child.kill('SIGKILL');
      await exited;
    },
    signal: (signal) => !gone() && child.kill(signal),
    output: () => fs.readFileSync(logFile, 'utf8').split('\n'),
  };
}

/**
 * `ca-rotate control-plane` in a child process; plugs into `startLocalStack({ startControlPlane })`.
 * Pass the port and token of a control plane that died to restart it on the same store as it was;
 * `kubernetes`: in Kubernetes mode against the API server of that kubeconfig.
 */
export async function startControlPlaneProcess(
  settings: ControlPlaneSettings,
  logFile: string,
  same?: { port: number; token: string },
  kubernetes?: { kubeconfig: string },
): Promise<RunningControlPlane & { process: CliProcess }> {
  const token = same?.token ?? randomBytes(24).toString('base64url');
  const port = same?.port ?? (await freePort());
  const started = await startCliProcess(
    [...(kubernetes ? ['--kubeconfig', kubernetes.kubeconfig] : []), 'control-plane', '--db', settings.dbFile, '--port', String(port)],
    {
      CA_ROTATE_CP_TOKEN: token,
      ...(settings.temporal ? { TEMPORAL_ADDRESS: settings.temporal.address, TEMPORAL_NAMESPACE: settings.temporal.namespace } : {}),
      ...(settings.vault ? { VAULT_ADDR: settings.vault.address, VAULT_TOKEN: settings.vault.token } : {}),
    },
    /^control plane listening on /,
    logFile,
  );
  const url = /listening on (\S+)/.exec(started.readyLine)?.[1];
  if (!url) throw new Error(`cannot read the control plane's URL from "${started.readyLine}"`);
  // The child generated its API certificate next to the store on first start.
  const caFile = apiTlsFiles(path.resolve(settings.dbFile)).ca;
  return { url, token, tokenFile: undefined, tokenGenerated: false, caPem: fs.readFileSync(caFile, 'utf8'), caFile, process: started, stop: () => started.stop() };
}

/** `ca-rotate worker` in a child process, with the settings the stack hands out. */
export function startWorkerProcess(env: NodeJS.ProcessEnv, logFile: string): Promise<CliProcess> {
  return startCliProcess(['worker'], env, /^worker polling task queue/, logFile);
}

/** `ca-rotate dataplanes` in a child process (a proxy host a drill can stop with SIGSTOP). */
export function startDataplanesProcess(
  options: { controlPlaneUrl: string; token: string; caFile?: string; mesh: string; count: number; namePrefix: string; traffic: boolean },
  logFile: string,
): Promise<CliProcess> {
  const args = ['dataplanes', '--count', String(options.count), '--mesh', options.mesh, '--name-prefix', options.namePrefix, ...(options.traffic ? ['--traffic'] : [])];
  const env = { CA_ROTATE_CP_URL: options.controlPlaneUrl, CA_ROTATE_CP_TOKEN: options.token, ...(options.caFile ? { CA_ROTATE_CP_CA_FILE: options.caFile } : {}) };
  return startCliProcess(args, env, /^host .*proxies, mTLS listener/, logFile);
}
