/**
 * The three mesh edits of the Kong Mesh procedure (ca-1 builtin → ca-2 provided) applied through the
 * control plane API to real proxies exchanging real mTLS traffic, on a machine kept busy by a CPU
 * burner the test starts itself. Gated by admission (each edit retried on 422 until the proxies are
 * ready for it), no request fails on trust; applied back to back with force (the negative control),
 * requests fail. Proxies that lost their control plane stream still serve and still hold admission.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlPlaneClient, ControlPlaneError, type DataplaneInsightItem } from '../../src/controlplane/client';
import { startControlPlane, type RunningControlPlane } from '../../src/controlplane/server';
import { startDataplaneHost, type DataplaneHost } from '../../src/dataplane/host';
import { splitFailures } from '../../src/dataplane/failure-reason';
import type { TrafficStats } from '../../src/dataplane/traffic';
import type { Mesh } from '../../src/mesh/schema';
import { generateCa } from '../../src/pki/ca-certificate';
import { startCpuBurner, type CpuBurner } from '../harness/cpu-burner';
import { expectNoTrustFailure } from './support';

const TOKEN = 'mesh-edits-token';
const PROXIES = 12;
const TRAFFIC = { concurrency: 12, maxRequestsPerConnection: 1, pauseMs: 1 };
jest.setTimeout(300_000);

let dir: string;
let burner: CpuBurner;
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

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function allProxies(mesh: string, predicate: (p: DataplaneInsightItem) => boolean, count = PROXIES): Promise<boolean> {
  const proxies = await client.listDataplaneInsights(mesh);
  return proxies.length === count && proxies.every((p) => p.online && predicate(p));
}

/** PUTs the edit, retrying while admission answers 422; returns the refusals seen before it was admitted. */
async function putWhenAdmitted(mesh: Mesh, actor: string): Promise<number> {
  let refusals = 0;
  for (;;) {
    try {
      await client.putMesh(mesh, { actor });
      return refusals;
    } catch (err) {
      if (!(err instanceof ControlPlaneError) || err.status !== 422) throw err;
      refusals++;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

async function refusalOf(put: Promise<unknown>): Promise<ControlPlaneError> {
  try {
    await put;
  } catch (err) {
    if (err instanceof ControlPlaneError) return err;
    throw err;
  }
  throw new Error('the edit was admitted');
}

/** A mesh on ca-1 with ca-2's secrets in place, and a host of proxies talking mTLS to each other. */
async function meshWithTraffic(mesh: string, propagationJitterMs = 0, count = PROXIES): Promise<DataplaneHost> {
  await client.putMesh({ type: 'Mesh', name: mesh, mtls: { enabledBackend: 'ca-1', backends: [builtinCa1] } });
  const ca2 = await generateCa({ commonName: `${mesh} ca-2 provided` });
  await client.putSecret({ type: 'Secret', mesh, name: 'ca-2-cert', data: Buffer.from(ca2.certificatePem).toString('base64') });
  await client.putSecret({ type: 'Secret', mesh, name: 'ca-2-key', data: Buffer.from(ca2.privateKeyPem).toString('base64') });
  const host = await startDataplaneHost({ controlPlaneUrl: cp.url, token: TOKEN, caPem: cp.caPem, mesh, count, services: 4, namePrefix: mesh, propagationJitterMs });
  hosts.push(host);
  await host.waitUntilReady(120_000);
  await waitFor('every proxy on ca-1', () => allProxies(mesh, (p) => p.mTLS.issuedBackend === 'ca-1', count));
  host.startTraffic(TRAFFIC);
  await waitFor('traffic flowing', async () => host.stats().ok >= 200, 120_000);
  expect(splitFailures(host.stats().failuresByReason).trust).toBe(0);
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
  burner = startCpuBurner();
  dir = mkdtempSync(path.join(os.tmpdir(), 'mesh-edits-'));
  cp = await startControlPlane({ dbFile: path.join(dir, 'cp.db'), port: 0, token: TOKEN, secretKey: Buffer.alloc(32, 3), logger: () => undefined });
  client = new ControlPlaneClient({ url: cp.url, token: TOKEN, caFile: cp.caFile });
});

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  await cp.stop();
  await burner.stop();
  rmSync(dir, { recursive: true, force: true });
  const line = (run: string) => {
    const f = figures[run];
    if (!f) return 'did not run';
    const { trust, other } = splitFailures(f.failuresByReason);
    return `${trust} trust failures, ${other} other failures (timeouts) of ${f.requests} requests ${JSON.stringify(f.failuresByReason)}`;
  };
  console.log(
    `mesh edits under a CPU burner (${burner.processes} busy processes), mTLS traffic during the three edits:\n` +
      `  forced back to back (negative control): ${line('forced')}\n  gated by admission: ${line('gated')}\n  gated, proxies cut off from the control plane: ${line('offline')}`,
  );
});

test('gated: each edit applied when admission allows; proxies converge after each; no request fails on trust', async () => {
  const host = await meshWithTraffic('gated');
  for (const edit of referenceEdits('gated')) {
    const refusals = await putWhenAdmitted(edit.mesh, `test: ${edit.step}`);
    await waitFor(`proxies to converge after "${edit.step}" (${refusals} refusals before it was admitted)`, () => allProxies('gated', edit.converged));
  }
  const history = await client.meshHistory('gated');
  expect(history.map((h) => h.forced)).toEqual([false, false, false, false]);
  expect(history.at(-1)?.mesh.mtls).toEqual(referenceEdits('gated')[2]?.mesh.mtls);
  const stats = await finishTraffic(host, 'gated');
  expect(stats.requests).toBeGreaterThan(200);
  expectNoTrustFailure(stats);
});

test('proxies cut off from the control plane keep serving, and hold admission until they are back and confirm', async () => {
  const mesh = 'offline';
  const host = await meshWithTraffic(mesh, 0, 5);
  const [add, enable, remove] = referenceEdits(mesh);
  if (!add || !enable || !remove) throw new Error('three edits expected');
  host.dropControlPlaneStream(600_000);
  await waitFor('every proxy offline at the control plane', async () => (await client.listDataplaneInsights(mesh)).every((p) => !p.online));
  const servedBefore = host.stats().ok;
  await waitFor('requests still served with the last config', async () => host.stats().ok >= servedBefore + 100, 120_000);

  // The issue 12 incident: add ca-2 and switch to it in one PUT, while every proxy is offline but serving.
  const incident = await refusalOf(client.putMesh({ ...enable.mesh }, { actor: 'test: add and switch at once' }));
  expect(incident.status).toBe(422);
  expect(incident.message).toMatch(/5 of 5 data plane proxies do not trust it yet \(5 of them offline/);
  // Adding a backend is always admitted; switching to it is not while the cut-off proxies cannot know it.
  await client.putMesh(add.mesh, { actor: 'test: add ca-2' });
  expect((await refusalOf(client.putMesh(enable.mesh, { actor: 'test: enable ca-2' }))).status).toBe(422);
  // A named exclusion must name registered proxies.
  const unknown = await refusalOf(client.putMesh(enable.mesh, { actor: 'test: enable ca-2', exclude: ['no-such-proxy'] }));
  expect(unknown.status).toBe(400);
  expect(unknown.message).toContain('exclude');

  host.reconnectControlPlaneStream();
  await waitFor('proxies back and trusting ca-2', () => allProxies(mesh, add.converged, 5));
  await putWhenAdmitted(enable.mesh, 'test: enable ca-2');
  await waitFor('proxies on ca-2 certificates', () => allProxies(mesh, enable.converged, 5));
  await putWhenAdmitted(remove.mesh, 'test: remove ca-1');
  await waitFor('proxies trusting ca-2 only', () => allProxies(mesh, remove.converged, 5));
  expectNoTrustFailure(await finishTraffic(host, 'offline'));
});

test('an operator excludes a proxy that is gone by name; the exclusion is in the history', async () => {
  const mesh = 'gone';
  const staying = await meshWithTraffic(mesh, 0, 2);
  await staying.stopTraffic();
  const gone = await startDataplaneHost({ controlPlaneUrl: cp.url, token: TOKEN, caPem: cp.caPem, mesh, count: 1, namePrefix: `${mesh}-lost` });
  hosts.push(gone);
  await gone.waitUntilReady(120_000);
  await gone.stop();
  const [add, enable] = referenceEdits(mesh);
  if (!add || !enable) throw new Error('edits expected');
  await client.putMesh(add.mesh, { actor: 'test: add ca-2' });
  await waitFor('the two live proxies trust ca-2', async () => (await client.listDataplaneInsights(mesh)).filter((p) => p.online && add.converged(p)).length === 2);
  const refused = await refusalOf(client.putMesh(enable.mesh, { actor: 'test: enable ca-2' }));
  expect(refused.message).toMatch(/1 of 3 .*1 of them offline/);
  await client.putMesh(enable.mesh, { actor: 'test: enable ca-2, the lost proxy is gone', exclude: [`${mesh}-lost-0`] });
  expect((await client.meshHistory(mesh)).map((h) => h.excluded)).toEqual([[], [], [`${mesh}-lost-0`]]);
});

test('negative control: the same edits forced back to back make live mTLS requests fail on trust', async () => {
  // Configs reach proxies over up to 3 s, as across the machines of a real mesh.
  const host = await meshWithTraffic('forced', 3_000);
  for (const edit of referenceEdits('forced')) await client.putMesh(edit.mesh, { force: true, actor: `test: ${edit.step}` });
  const final = referenceEdits('forced')[2];
  await waitFor('proxies to converge on ca-2 only', () => allProxies('forced', (p) => final?.converged(p) ?? false), 120_000);
  expect((await client.meshHistory('forced')).map((h) => h.forced)).toEqual([false, true, true, true]);
  const stats = await finishTraffic(host, 'forced');
  expect(splitFailures(stats.failuresByReason).trust).toBeGreaterThan(0);
});
