/**
 * The three mesh edits of the Kong Mesh procedure (ca-1 builtin → ca-2 provided) applied through the
 * control plane API to real proxies exchanging real mTLS traffic. Gated by admission (each edit retried
 * on 422 until the proxies are ready for it), no request fails; applied back to back with force
 * (the negative control), requests fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlPlaneClient, ControlPlaneError, type DataplaneInsightItem } from '../../src/controlplane/client';
import { startControlPlane, type RunningControlPlane } from '../../src/controlplane/server';
import { startDataplaneHost, type DataplaneHost } from '../../src/dataplane/host';
import type { TrafficStats } from '../../src/dataplane/traffic';
import type { Mesh } from '../../src/mesh/schema';
import { generateCa } from '../../src/pki/ca-certificate';

const TOKEN = 'mesh-edits-token';
const PROXIES = 12;
const TRAFFIC = { concurrency: 12, maxRequestsPerConnection: 1, pauseMs: 1 };

let dir: string;
let cp: RunningControlPlane;
let client: ControlPlaneClient;
const hosts: DataplaneHost[] = [];
const figures: Record<string, TrafficStats> = {};

const builtinCa1 = { name: 'ca-1', type: 'builtin' };
const providedCa2 = { name: 'ca-2', type: 'provided', conf: { cert: { secret: 'ca-2-cert' }, key: { secret: 'ca-2-key' } } };

/** The three edits of the reference, in order. */
function referenceEdits(mesh: string): { step: string; mesh: Mesh; converged: (p: DataplaneInsightItem) => boolean }[] {
  return [
    {
      step: 'add ca-2',
      mesh: { type: 'Mesh', name: mesh, mtls: { enabledBackend: 'ca-1', backends: [builtinCa1, providedCa2] } },
      converged: (p) => p.mTLS.supportedBackends.includes('ca-1') && p.mTLS.supportedBackends.includes('ca-2') && p.mTLS.issuedBackend === 'ca-1',
    },
    {
      step: 'enable ca-2',
      mesh: { type: 'Mesh', name: mesh, mtls: { enabledBackend: 'ca-2', backends: [builtinCa1, providedCa2] } },
      converged: (p) => p.mTLS.supportedBackends.includes('ca-1') && p.mTLS.supportedBackends.includes('ca-2') && p.mTLS.issuedBackend === 'ca-2',
    },
    {
      step: 'remove ca-1',
      mesh: { type: 'Mesh', name: mesh, mtls: { enabledBackend: 'ca-2', backends: [providedCa2] } },
      converged: (p) => p.mTLS.supportedBackends.join(',') === 'ca-2' && p.mTLS.issuedBackend === 'ca-2',
    },
  ];
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function allProxies(mesh: string, predicate: (p: DataplaneInsightItem) => boolean): Promise<boolean> {
  const proxies = await client.listDataplaneInsights(mesh);
  return proxies.length === PROXIES && proxies.every((p) => p.online && predicate(p));
}

/** A mesh on ca-1 with ca-2's secrets in place, and a host of proxies talking mTLS to each other. */
async function meshWithTraffic(mesh: string): Promise<DataplaneHost> {
  await client.putMesh({ type: 'Mesh', name: mesh, mtls: { enabledBackend: 'ca-1', backends: [builtinCa1] } });
  const ca2 = await generateCa({ commonName: `${mesh} ca-2 provided` });
  await client.putSecret({ type: 'Secret', mesh, name: 'ca-2-cert', data: Buffer.from(ca2.certificatePem).toString('base64') });
  await client.putSecret({ type: 'Secret', mesh, name: 'ca-2-key', data: Buffer.from(ca2.privateKeyPem).toString('base64') });
  const host = await startDataplaneHost({ controlPlaneUrl: cp.url, token: TOKEN, caPem: cp.caPem, mesh, count: PROXIES, services: 4, namePrefix: mesh });
  hosts.push(host);
  await host.waitUntilReady(60_000);
  await waitFor('every proxy on ca-1', () => allProxies(mesh, (p) => p.mTLS.issuedBackend === 'ca-1'));
  host.startTraffic(TRAFFIC);
  await waitFor('traffic flowing', async () => host.stats().ok >= 200);
  expect(host.stats().failed).toBe(0);
  return host;
}

async function finishTraffic(host: DataplaneHost, run: string): Promise<TrafficStats> {
  // Let traffic run a little on the final state, then count.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await host.stopTraffic();
  figures[run] = host.stats();
  return host.stats();
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mesh-edits-'));
  cp = await startControlPlane({ dbFile: path.join(dir, 'cp.db'), port: 0, token: TOKEN, secretKey: Buffer.alloc(32, 3), logger: () => undefined });
  client = new ControlPlaneClient({ url: cp.url, token: TOKEN, caFile: cp.caFile });
});

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  await cp.stop();
  rmSync(dir, { recursive: true, force: true });
  const line = (run: string) => {
    const f = figures[run];
    return f ? `${f.failed} failed of ${f.requests} requests ${JSON.stringify(f.failuresByReason)}` : 'did not run';
  };
  console.log(`mesh edits, mTLS traffic during the three edits:\n  forced back to back (negative control): ${line('forced')}\n  gated by admission: ${line('gated')}`);
});

test('gated: each edit applied when admission allows; proxies converge after each; no request fails', async () => {
  const host = await meshWithTraffic('gated');
  for (const edit of referenceEdits('gated')) {
    let refusals = 0;
    for (;;) {
      try {
        await client.putMesh(edit.mesh, { actor: `test: ${edit.step}` });
        break;
      } catch (err) {
        if (!(err instanceof ControlPlaneError) || err.status !== 422) throw err;
        refusals++;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
    await waitFor(`proxies to converge after "${edit.step}" (${refusals} refusals before it was admitted)`, () => allProxies('gated', edit.converged));
  }
  const history = await client.meshHistory('gated');
  expect(history.map((h) => h.forced)).toEqual([false, false, false, false]);
  expect(history.at(-1)?.mesh.mtls).toEqual(referenceEdits('gated')[2]?.mesh.mtls);
  const stats = await finishTraffic(host, 'gated');
  expect(stats.requests).toBeGreaterThan(200);
  expect(stats.failed).toBe(0);
});

test('negative control: the same edits forced back to back make live mTLS requests fail', async () => {
  const host = await meshWithTraffic('forced');
  for (const edit of referenceEdits('forced')) await client.putMesh(edit.mesh, { force: true, actor: `test: ${edit.step}` });
  const final = referenceEdits('forced')[2];
  await waitFor('proxies to converge on ca-2 only', () => allProxies('forced', (p) => final?.converged(p) ?? false));
  expect((await client.meshHistory('forced')).map((h) => h.forced)).toEqual([false, true, true, true]);
  const stats = await finishTraffic(host, 'forced');
  expect(stats.failed).toBeGreaterThan(0);
});
