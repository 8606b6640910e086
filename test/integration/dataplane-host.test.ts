/**
 * Data plane hosts against the real embedded control plane (temp store): registration, certificates,
 * mTLS traffic, a CA rotation seen from the proxies, a control plane restart, and a 1,000-proxy start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startControlPlane, type RunningControlPlane } from '../../src/controlplane/server';
import { startDataplaneHost, type DataplaneHost } from '../../src/dataplane/host';
import { runDataplanesCommand } from '../../src/dataplane/main';
import type { ProxyStatus } from '../../src/dataplane/proxy';

const TOKEN = 'dataplane-test-token';
let dir: string;
let controlPlane: RunningControlPlane;
let controlPlanePort: number;
const hosts: DataplaneHost[] = [];
const logs: string[] = [];
const logger = (line: string) => void logs.push(line);

async function api(method: string, pathname: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${controlPlane.url}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

async function putMesh(mesh: object): Promise<void> {
  const { status, json } = await api('PUT', `/meshes/${(mesh as { name: string }).name}`, mesh);
  if (status !== 200 && status !== 201) throw new Error(`PUT mesh answered ${status}: ${JSON.stringify(json)}`);
}

async function startHost(options: Partial<Parameters<typeof startDataplaneHost>[0]> & { mesh: string; count: number }): Promise<DataplaneHost> {
  const host = await startDataplaneHost({ controlPlaneUrl: controlPlane.url, token: TOKEN, logger, ...options });
  hosts.push(host);
  return host;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'dataplane-it-'));
  controlPlane = await startControlPlane({ dbFile: path.join(dir, 'cp.db'), port: 0, token: TOKEN, secretKey: Buffer.alloc(32, 7), tls: false, logger });
  controlPlanePort = Number(new URL(controlPlane.url).port);
});

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  await controlPlane.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('20 proxies register, get certificates from the mesh CA, and talk over mTLS without a failure', async () => {
  await putMesh({ type: 'Mesh', name: 'small', mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } });
  const host = await startHost({ mesh: 'small', count: 20, services: 4, namePrefix: 'small', traffic: { concurrency: 4, pauseMs: 5 } });
  expect(host.proxies).toHaveLength(20);
  await host.waitUntilReady(60_000);
  expect(host.readyCount()).toBe(20);

  // Every proxy trusts exactly one root and holds a certificate issued by it.
  const statuses = host.proxyStatuses();
  const [root] = statuses[0]?.trustedRootFingerprints ?? [];
  expect(root).toMatch(/^[0-9a-f]{64}$/);
  for (const status of statuses) {
    expect(status.trustedRootFingerprints).toEqual([root]);
    expect(status.certificateIssuerFingerprint).toBe(root);
  }

  // The control plane mapped the acks to the backend.
  const { json } = await api('GET', '/meshes/small/dataplanes+insights?size=100');
  const items = (json as { items: { name: string; dataplaneInsight: { mTLS?: { issuedBackend?: string; supportedBackends?: string[] } } }[] }).items;
  expect(items).toHaveLength(20);
  for (const item of items) {
    expect(item.dataplaneInsight.mTLS?.issuedBackend).toBe('ca-1');
    expect(item.dataplaneInsight.mTLS?.supportedBackends).toEqual(['ca-1']);
  }

  await waitForTraffic(host, 200);
  await host.stopTraffic();
  const stats = host.stats();
  console.log(`20 proxies: ${stats.requests} requests over ${stats.connections} connections, ${stats.failed} failed`);
  expect(stats).toMatchObject({ failed: 0, failuresByReason: {} });
  expect(stats.ok).toBeGreaterThanOrEqual(200);
  expect(stats.connections).toBeGreaterThan(stats.requests / 5);
  expect(host.serverRejections()).toEqual({});
});

test('a CA rotation in three acked steps keeps every request succeeding, and proxies ack what they hold', async () => {
  const ca1 = { name: 'ca-1', type: 'builtin' };
  const ca2 = { name: 'ca-2', type: 'builtin' };
  await putMesh({ type: 'Mesh', name: 'rotating', mtls: { enabledBackend: 'ca-1', backends: [ca1] } });
  // Configs reach the proxies spread over up to 300 ms, as they would across machines.
  const host = await startHost({ mesh: 'rotating', count: 12, services: 3, namePrefix: 'rot', propagationJitterMs: 300, traffic: { concurrency: 4, pauseMs: 2 } });
  await host.waitUntilReady(60_000);
  const oldRoot = host.proxyStatuses()[0]?.trustedRootFingerprints[0];
  await waitForTraffic(host, 50);

  await putMesh({ type: 'Mesh', name: 'rotating', mtls: { enabledBackend: 'ca-1', backends: [ca1, ca2] } });
  await host.waitUntilAll((status) => status.trustedRootFingerprints.length === 2 && acked(status), 60_000);
  const newRoot = host.proxyStatuses()[0]?.trustedRootFingerprints.find((fingerprint) => fingerprint !== oldRoot);
  await waitForTraffic(host, host.stats().ok + 50);

  await putMesh({ type: 'Mesh', name: 'rotating', mtls: { enabledBackend: 'ca-2', backends: [ca1, ca2] } });
  await host.waitUntilAll((status) => status.certificateIssuerFingerprint === newRoot && acked(status), 60_000);
  await waitForTraffic(host, host.stats().ok + 50);

  await putMesh({ type: 'Mesh', name: 'rotating', mtls: { enabledBackend: 'ca-2', backends: [ca2] } });
  await host.waitUntilAll((status) => status.trustedRootFingerprints.join() === newRoot && acked(status), 60_000);
  await waitForTraffic(host, host.stats().ok + 50);
  await host.stopTraffic();

  const stats = host.stats();
  console.log(`rotation: ${stats.requests} requests over ${stats.connections} connections, ${stats.failed} failed`);
  expect(stats).toMatchObject({ failed: 0, failuresByReason: {} });
  expect(host.serverRejections()).toEqual({});
  expect(host.readyCount()).toBe(12);
});

test('without waiting for acks, the same three edits break handshakes and the traffic stats say why', async () => {
  // Negative control: the same edits back to back. With configs spread over 1 s, a proxy holding a ca-2
  // certificate meets one that does not trust ca-2 yet, and one trusting only ca-2 meets a ca-1 certificate.
  const ca1 = { name: 'ca-1', type: 'builtin' };
  const ca2 = { name: 'ca-2', type: 'builtin' };
  await putMesh({ type: 'Mesh', name: 'careless', mtls: { enabledBackend: 'ca-1', backends: [ca1] } });
  const host = await startHost({ mesh: 'careless', count: 12, services: 3, namePrefix: 'careless', propagationJitterMs: 1_000, traffic: { concurrency: 4, pauseMs: 2 } });
  await host.waitUntilReady(60_000);
  await waitForTraffic(host, 50);
  expect(host.stats().failed).toBe(0);
  for (const mtls of [
    { enabledBackend: 'ca-1', backends: [ca1, ca2] },
    { enabledBackend: 'ca-2', backends: [ca1, ca2] },
    { enabledBackend: 'ca-2', backends: [ca2] },
  ]) {
    // Forced past the control plane's step gates, as an operator without this tool would.
    const { status, json } = await api('PUT', '/meshes/careless?force=true', { type: 'Mesh', name: 'careless', mtls });
    if (status !== 200) throw new Error(`forced PUT answered ${status}: ${JSON.stringify(json)}`);
  }
  await waitFor(() => host.stats().failed >= 1, 30_000);
  await host.stopTraffic();
  const stats = host.stats();
  console.log(`careless rotation: ${stats.failed} of ${stats.requests} failed: ${JSON.stringify(stats.failuresByReason)}`);
  expect(Object.keys(stats.failuresByReason).join(' | ')).toMatch(/certificate signed by unknown authority/);
  expect(Object.values(stats.failuresByReason).reduce((sum, n) => sum + n, 0)).toBe(stats.failed);
});

test('when the control plane restarts, the host reconnects, re-registers with the same keys and acks again', async () => {
  await putMesh({ type: 'Mesh', name: 'restart', mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } });
  const host = await startHost({ mesh: 'restart', count: 6, namePrefix: 'rs', traffic: { concurrency: 2, pauseMs: 5 } });
  await host.waitUntilReady(60_000);
  const before = host.proxyStatuses();

  await controlPlane.stop();
  const logsBefore = logs.length;
  // Proxy-to-proxy traffic does not need the control plane.
  await waitForTraffic(host, host.stats().ok + 30);
  controlPlane = await startControlPlane({ dbFile: path.join(dir, 'cp.db'), port: controlPlanePort, token: TOKEN, secretKey: Buffer.alloc(32, 7), tls: false, logger });

  await waitFor(() => logs.slice(logsBefore).some((line) => line.startsWith('reconnected') && line.includes(host.hostId)), 30_000);
  // The restarted control plane sees every proxy online again, with the insights of fresh acks.
  await waitFor(async () => {
    const { json } = await api('GET', '/mesh-insights/restart');
    return (json as { dataplanes?: { online?: number } }).dataplanes?.online === 6;
  }, 30_000);
  await host.waitUntilReady(30_000);
  const after = host.proxyStatuses();
  // Same keys: the certificate (issued for the key) is unchanged, so the context was kept.
  expect(after.map((s) => s.certificateIssuerFingerprint)).toEqual(before.map((s) => s.certificateIssuerFingerprint));
  await host.stopTraffic();
  expect(host.stats()).toMatchObject({ failed: 0 });
});

test('the dataplanes command prints status lines until told to stop, never a key, and deregisters its proxies on the way out', async () => {
  await putMesh({ type: 'Mesh', name: 'command', mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } });
  const lines: string[] = [];
  let stop: () => void = () => undefined;
  const until = new Promise<void>((resolve) => (stop = resolve));
  const exitCode = runDataplanesCommand({
    count: 4,
    mesh: 'command',
    services: 2,
    traffic: true,
    controlPlaneUrl: controlPlane.url,
    token: TOKEN,
    namePrefix: 'cmd',
    statusIntervalMs: 100,
    print: (line) => lines.push(line),
    until,
  });
  await waitFor(() => lines.some((line) => /^ready 4\/4 \| requests ok [1-9]\d* failed 0$/.test(line)), 30_000);
  stop();
  expect(await exitCode).toBe(0);
  expect(lines.at(-1)).toMatch(/host .* stopped/);
  expect(lines).toContain('deregistered 4 proxies');
  expect(lines.join('\n')).not.toMatch(/PRIVATE KEY|dataplane-test-token/);
  // Gone for good, not merely offline: a rotation's gates no longer wait for them.
  const { json } = await api('GET', '/meshes/command/dataplanes');
  expect(json).toMatchObject({ total: 0 });
});

test('the dataplanes command with keepRegistered leaves its proxies registered, offline', async () => {
  await putMesh({ type: 'Mesh', name: 'kept', mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } });
  const lines: string[] = [];
  let stop: () => void = () => undefined;
  const until = new Promise<void>((resolve) => (stop = resolve));
  const exitCode = runDataplanesCommand({ count: 2, mesh: 'kept', controlPlaneUrl: controlPlane.url, token: TOKEN, namePrefix: 'kept', statusIntervalMs: 100, print: (line) => lines.push(line), until, keepRegistered: true });
  await waitFor(() => lines.some((line) => line.startsWith('ready 2/2')), 30_000);
  stop();
  expect(await exitCode).toBe(0);
  await waitFor(async () => {
    const { json } = await api('GET', '/mesh-insights/kept');
    return (json as { dataplanes?: { online?: number; offline?: number } }).dataplanes?.offline === 2;
  }, 30_000);
});

test('1,000 proxies in one host become ready (timing printed)', async () => {
  await putMesh({ type: 'Mesh', name: 'big', mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } });
  const started = Date.now();
  const host = await startHost({ mesh: 'big', count: 1_000, services: 20, namePrefix: 'big' });
  const created = Date.now();
  await host.waitUntilReady(180_000);
  const ready = Date.now();
  console.log(`1,000 proxies: keys and CSRs ${created - started} ms, registered + certified + acked ${ready - created} ms, total ${ready - started} ms`);
  expect(host.readyCount()).toBe(1_000);
  // A short burst of traffic across the 1,000 proxies.
  host.startTraffic({ concurrency: 4, pauseMs: 0 });
  await waitForTraffic(host, 200);
  await host.stopTraffic();
  expect(host.stats()).toMatchObject({ failed: 0 });
}, 240_000);

function acked(status: ProxyStatus): boolean {
  return status.appliedVersion !== undefined && status.ackedVersion === status.appliedVersion;
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitForTraffic(host: DataplaneHost, okAtLeast: number): Promise<void> {
  await waitFor(() => host.stats().ok >= okAtLeast, 30_000);
}
