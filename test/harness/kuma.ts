/**
 * The real Kuma binaries for the suites that meet the real thing: kuma-cp and kumactl 2.14.3, unpacked
 * by scripts/provide-binaries.sh from `../shared/kuma` beside the checkout (or KUMA_CP_PATH /
 * KUMACTL_PATH). Absent on a user's clone: the suites say in one line that they did not run.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitUntil } from '../../src/devstack/ports';
import { spawnServer, type ManagedProcess } from '../../src/devstack/process';
import { errorMessage } from '../../src/mesh/errors';

const SCRIPT = path.resolve(__dirname, '../../scripts/provide-binaries.sh');

export interface KumaBinaries {
  kumaCp?: string;
  kumactl?: string;
}

let provided: KumaBinaries | undefined;

/** Runs the provide script once per test file (unpacking takes seconds the first time, then it is cached). */
export function kumaBinaries(): KumaBinaries {
  if (!provided) {
    const out = execFileSync('bash', [SCRIPT, 'kuma-cp', 'kumactl'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 300_000 });
    const found = Object.fromEntries(out.split('\n').flatMap((line) => (/^(kuma-cp|kumactl)=(.*)$/.exec(line.trim()) ? [line.trim().split('=')] : [])));
    provided = { kumaCp: found['kuma-cp'] || undefined, kumactl: found.kumactl || undefined };
  }
  return provided;
}

/** Why a suite cannot run, or undefined when the binaries it needs are here. */
export function kumaMissing(...wanted: ('kuma-cp' | 'kumactl')[]): string | undefined {
  const binaries = kumaBinaries();
  const absent = wanted.filter((w) => !(w === 'kuma-cp' ? binaries.kumaCp : binaries.kumactl));
  if (absent.length === 0) return undefined;
  return `${absent.join(' and ')} not found: ../shared/kuma is absent (set ${absent.map((a) => (a === 'kuma-cp' ? 'KUMA_CP_PATH' : 'KUMACTL_PATH')).join(' / ')})`;
}

export interface RunningKumaCp {
  url: string;
  httpsUrl: string;
  workDir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * `kuma-cp run`, standalone Universal with the memory store, every port it opens moved off Kuma's
 * defaults (so it never meets a kuma-cp or our control plane on 5681) and bound to loopback where Kuma
 * allows it. `env` adds or overrides settings (KUMA_* variables).
 */
export async function startKumaCp(env: Record<string, string> = {}): Promise<RunningKumaCp> {
  const binary = kumaBinaries().kumaCp;
  if (!binary) throw new Error('kuma-cp is not available');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kuma-cp-'));
  const [http, https, dp, diagnostics, mads, interCp, dns] = await Promise.all(Array.from({ length: 7 }, () => freePort()));
  const process_ = spawnServer(binary, ['run', '--log-level', 'info'], path.join(workDir, 'kuma-cp.log'), {
    PATH: process.env.PATH,
    HOME: workDir,
    KUMA_STORE_TYPE: 'memory',
    KUMA_GENERAL_WORK_DIR: workDir,
    KUMA_API_SERVER_HTTP_PORT: String(http),
    KUMA_API_SERVER_HTTP_INTERFACE: '127.0.0.1',
    KUMA_API_SERVER_HTTPS_PORT: String(https),
    KUMA_API_SERVER_HTTPS_INTERFACE: '127.0.0.1',
    KUMA_DP_SERVER_PORT: String(dp),
    KUMA_DIAGNOSTICS_SERVER_PORT: String(diagnostics),
    KUMA_MONITORING_ASSIGNMENT_SERVER_PORT: String(mads),
    KUMA_INTER_CP_SERVER_PORT: String(interCp),
    KUMA_DNS_SERVER_PORT: String(dns),
    ...env,
  });
  const url = `http://127.0.0.1:${http}`;
  try {
    await waitUntil('kuma-cp API', async () => (await fetch(`${url}/`)).ok, 120_000, 250);
  } catch (err) {
    await process_.stop();
    throw new Error(`${errorMessage(err)}\n${fs.readFileSync(path.join(workDir, 'kuma-cp.log'), 'utf8').slice(-2_000)}`);
  }
  return {
    url,
    httpsUrl: `https://127.0.0.1:${https}`,
    workDir,
    process: process_,
    async stop() {
      await process_.stop();
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}

const run = promisify(execFile);

/** Runs kumactl with its own config file; returns what it printed and its exit code (never throws on a non-zero exit). */
export async function kumactl(configFile: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const binary = kumaBinaries().kumactl;
  if (!binary) throw new Error('kumactl is not available');
  try {
    const { stdout, stderr } = await run(binary, ['--config-file', configFile, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
