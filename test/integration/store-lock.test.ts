/**
 * One control plane per store: a second control plane process on the same store refuses to start
 * before it touches the store, naming the running one; live proxies stay online. Once the first one
 * dies (kill -9), the lock is gone with it and a new control plane starts on the store.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startControlPlaneProcess, type CliProcess } from '../../bench/processes';
import { ControlPlaneClient } from '../../src/controlplane/client';
import type { RunningControlPlane } from '../../src/controlplane/server';
import { startDataplaneHost, type DataplaneHost } from '../../src/dataplane/host';
import { freePort } from '../../src/devstack/ports';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.ts');
// Nothing listens there: the control plane's ack relay only warns.
const NO_TEMPORAL = { address: '127.0.0.1:1', namespace: 'default' };

let dir: string;
let first: (RunningControlPlane & { process: CliProcess }) | undefined;
let host: DataplaneHost | undefined;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'store-lock-'));
});

afterAll(async () => {
  await host?.stop();
  await first?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

async function eventually(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('a second control plane on the same store refuses to start, names the running one, and changes nothing', async () => {
  const dbFile = path.join(dir, 'cp.db');
  first = await startControlPlaneProcess({ dbFile, temporal: NO_TEMPORAL }, path.join(dir, 'first.log'));
  const client = new ControlPlaneClient({ url: first.url, token: first.token, caFile: first.caFile });
  await client.putMesh({ type: 'Mesh', name: 'default', mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } });
  host = await startDataplaneHost({ controlPlaneUrl: first.url, token: first.token, caPem: first.caPem, mesh: 'default', count: 5, namePrefix: 'live' });
  await host.waitUntilReady(90_000);
  await eventually('5 proxies online', async () => (await client.listDataplaneInsights('default')).filter((p) => p.online).length === 5);
  const historyBefore = await client.meshHistory('default');

  const second = await runCli(['control-plane', '--db', dbFile, '--port', String(await freePort())], { CA_ROTATE_CP_TOKEN: first.token, TEMPORAL_ADDRESS: NO_TEMPORAL.address });
  expect(second.code).toBe(2);
  expect(second.stderr).toContain(`another control plane is running on store ${dbFile}`);
  expect(second.stderr).toContain(`pid ${first.process.pid}`);
  expect(second.stderr).toContain(first.url);

  // The live proxies were never marked offline; nothing else moved either.
  const insights = await client.listDataplaneInsights('default');
  expect(insights.map((p) => p.online)).toEqual([true, true, true, true, true]);
  expect(await client.meshHistory('default')).toEqual(historyBefore);
});

test('after kill -9 of the running control plane, the lock is gone with it: a new one starts on the store', async () => {
  const dbFile = path.join(dir, 'cp.db');
  if (!first) throw new Error('the first test did not start the control plane');
  process.kill(first.process.pid, 'SIGKILL');
  await first.stop();
  first = await startControlPlaneProcess({ dbFile, temporal: NO_TEMPORAL }, path.join(dir, 'restarted.log'));
  const client = new ControlPlaneClient({ url: first.url, token: first.token, caFile: first.caFile });
  expect(await client.meshHistory('default')).toHaveLength(1);
  expect((await client.listDataplaneInsights('default')).map((p) => p.name).sort()).toEqual(['live-0', 'live-1', 'live-2', 'live-3', 'live-4']);
});
