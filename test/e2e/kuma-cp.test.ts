/**
 * Our worker, CLI and insight watcher against a real kuma-cp 2.14.3 (Universal, memory store): the
 * Kuma API is read as it is; Kuma OSS cannot do the procedure, so `start` and the workflow refuse at
 * once, non-retryable, and nothing changes; proxies registered in kuma-cp reach the gate through the
 * watcher's signal, under the settle rule.
 */
import type { Client } from '@temporalio/client';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client as TemporalClient, Connection, WorkflowFailedError } from '@temporalio/client';
import { meshTargetFor, rotationActivitiesFor } from '../../src/activities';
import { InsightWatcher } from '../../src/activities/insight-watcher';
import { readSettledProxies } from '../../src/activities/proxy-insights';
import type { MeshTarget } from '../../src/activities/mesh-target';
import { startRotation } from '../../src/cli/start-rotation';
import { ControlPlaneClient } from '../../src/controlplane/client';
import { evaluateGate } from '../../src/mesh/gates';
import { PROXY_ACKS_SIGNAL, ProxyAckBatchSchema, rotationWorkflowId, ungroupProxyStates } from '../../src/mesh/insights';
import type { Mesh } from '../../src/mesh/schema';
import { createRotationWorker } from '../../src/worker';
import { testServers } from '../harness/env';
import { describeWhenAvailable } from '../harness/requirements';
import { kumaMissing, startKumaCp, type RunningKumaCp } from '../harness/kuma';
import { uniqueName, workflowBundle } from './support';

const BIN = path.resolve(__dirname, '../../bin/ca-rotate.js');
const run = promisify(execFile);

const initial = (name: string): Mesh => ({ type: 'Mesh', name, mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } });
const target = (name: string): Mesh => ({ type: 'Mesh', name, mtls: { enabledBackend: 'ca-2', backends: [{ name: 'ca-2', type: 'builtin' }] } });

async function putDataplane(url: string, mesh: string, name: string, port: number): Promise<void> {
  const response = await fetch(`${url}/meshes/${mesh}/dataplanes/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'Dataplane', mesh, name, networking: { address: '127.0.0.1', inbound: [{ port, tags: { 'kuma.io/service': 'web' } }] } }),
  });
  if (!response.ok) throw new Error(`PUT dataplane ${name}: ${response.status} ${await response.text()}`);
}

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CA_ROTATE_') && !k.startsWith('TEMPORAL_') && !k.startsWith('VAULT_')));
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...clean, ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describeWhenAvailable('the rotation against a real kuma-cp (Kuma OSS)', kumaMissing('kuma-cp'), () => {
  const servers = testServers();
  const mesh = uniqueName('kuma');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kuma-e2e-'));
  const targetFile = path.join(dir, 'target.yaml');
  let kuma: RunningKumaCp;
  let client: ControlPlaneClient;
  let meshTarget: MeshTarget;
  let connection: Connection;
  let temporal: Client;

  beforeAll(async () => {
    kuma = await startKumaCp();
    client = new ControlPlaneClient({ url: kuma.url });
    meshTarget = meshTargetFor({ url: kuma.url });
    await client.putMesh(initial(mesh));
    await putDataplane(kuma.url, mesh, 'web-1', 10001);
    await putDataplane(kuma.url, mesh, 'web-2', 10002);
    fs.writeFileSync(targetFile, `type: Mesh\nname: ${mesh}\nmtls:\n  enabledBackend: ca-2\n  backends:\n  - name: ca-2\n    type: builtin\n`);
    connection = await Connection.connect({ address: servers.temporalAddress });
    temporal = new TemporalClient({ connection, namespace: servers.temporalNamespace });
  });
  afterAll(async () => {
    await connection?.close();
    client?.close();
    await kuma?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ CA_ROTATE_CP_URL: kuma.url, TEMPORAL_ADDRESS: servers.temporalAddress, TEMPORAL_NAMESPACE: servers.temporalNamespace });

  test('GET / is read as Kuma OSS, which cannot do the procedure', async () => {
    expect(await meshTarget.identify()).toMatchObject({ product: 'kuma', description: 'Kuma 2.14.3', capabilities: { revisions: 'none', multiBackendRotation: false, pushedAcks: false } });
  });

  test('plan reads the mesh from kuma-cp and shows the three steps, then refuses in one line', async () => {
    const planned = await cli(['plan', '-f', targetFile], env());
    expect(planned.code).toBe(2);
    expect(planned.stdout).toContain('# step 1 of 3: add-backend');
    expect(planned.stdout).toContain('enabledBackend: ca-1'); // read from kuma-cp
    expect(planned.stdout).toContain('# step 3 of 3: remove-old');
    const lines = planned.stderr.split('\n').filter((l) => l.trim());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('one mTLS backend per mesh');
  });

  test('start refuses at once with the Kuma OSS line, starts nothing and changes nothing', async () => {
    const before = await client.getMesh(mesh);
    const started = await cli(['start', '-f', targetFile], env());
    expect(started.code).toBe(2);
    const lines = started.stderr.split('\n').filter((l) => l.trim());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('Kuma 2.14.3 (open source) cannot rotate a mesh CA without downtime');
    expect(lines[0]).toContain('Kong Mesh');
    expect(started.stdout).toBe('');
    expect(await client.getMesh(mesh)).toEqual(before);
    await expect(temporal.workflow.getHandle(rotationWorkflowId(mesh)).describe()).rejects.toThrow();
  });

  test('a workflow started anyway fails at preflight in one attempt (not retried), the mesh untouched', async () => {
    const taskQueue = `q-${mesh}`;
    const before = await client.getMesh(mesh);
    const { worker, connection: workerConnection } = await createRotationWorker({
      temporalAddress: servers.temporalAddress,
      namespace: servers.temporalNamespace,
      taskQueue,
      activities: rotationActivitiesFor({ controlPlane: { url: kuma.url } }),
      workflowBundle: await workflowBundle(),
    });
    const running = worker.run();
    try {
      const startedAt = Date.now();
      const handle = await startRotation(temporal, { mesh, from: 'ca-1', target: target(mesh), taskQueue });
      const failure = await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
      const elapsedMs = Date.now() - startedAt;
      console.log(`workflow against kuma-cp failed after ${elapsedMs} ms`);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const cause = (failure as WorkflowFailedError).cause as { cause?: { type?: string; message?: string; nonRetryable?: boolean } };
      expect(cause.cause?.type).toBe('UnsupportedControlPlane');
      expect(cause.cause?.message).toContain('one mTLS backend per mesh');
      const history = await handle.fetchHistory();
      const attempts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes?.attempt);
      expect(attempts).toEqual([1]);
      expect(await client.getMesh(mesh)).toEqual(before);
    } finally {
      worker.shutdown();
      await running;
      await workerConnection.close();
    }
  });

  test("a 4xx no retry can fix fails the activity at once with kuma-cp's own detail and causes, the mesh untouched", async () => {
    const activities = rotationActivitiesFor({ controlPlane: { url: kuma.url } }, meshTarget);
    const before = await client.getMesh(mesh);
    const twoBackends: Mesh = { type: 'Mesh', name: mesh, mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }, { name: 'ca-2', type: 'builtin' }] } };
    const failure = await activities.applyMeshVersion({ mesh, expectedVersion: 0, previous: initial(mesh), desired: twoBackends, actor: 'test' }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ type: 'ControlPlaneRefused', nonRetryable: true });
    expect((failure as Error).message).toContain('Resource is not valid (mtls.backends: cannot have more than 1 backends)');
    expect(await client.getMesh(mesh)).toEqual(before);
  });

  test('settle rule on the real CP: right after a mesh change its insights are not believed; after the settle time they are', async () => {
    const fresh = uniqueName('settle');
    await client.putMesh(initial(fresh));
    await putDataplane(kuma.url, fresh, 'api-1', 10003);
    const settleMs = 3_000;
    const early = await readSettledProxies(meshTarget, fresh, settleMs);
    expect(early.settled).toBe(false);
    const deadline = Date.now() + 60_000;
    let later = early;
    while (!later.settled && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      later = await readSettledProxies(meshTarget, fresh, settleMs);
    }
    expect(later.settled).toBe(true);
    expect(later.proxies.map((p) => p.name)).toEqual(['api-1']);
  });

  test("proxies registered in kuma-cp reach the gate's counts through the watcher's proxyAcks signal", async () => {
    // A rotation waiting for a worker is Running: the watcher finds it by its task queue and signals it.
    const taskQueue = `q-watch-${mesh}`;
    const handle = await startRotation(temporal, { mesh, from: 'ca-1', target: target(mesh), taskQueue });
    const watcher = new InsightWatcher({ target: meshTarget, client: temporal, taskQueue, settleMs: () => 1_000 });
    try {
      const deadline = Date.now() + 60_000;
      while (watcher.signals === 0 && Date.now() < deadline) {
        await watcher.tick();
        if (watcher.signals === 0) await new Promise((r) => setTimeout(r, 500));
      }
      expect(watcher.signals).toBe(1);
      await watcher.tick(); // nothing changed: no second signal
      expect(watcher.signals).toBe(1);

      const history = await handle.fetchHistory();
      const signaled = (history.events ?? []).flatMap((e) => (e.workflowExecutionSignaledEventAttributes?.signalName === PROXY_ACKS_SIGNAL ? [e.workflowExecutionSignaledEventAttributes] : []));
      expect(signaled).toHaveLength(1);
      const data = signaled[0]?.input?.payloads?.[0]?.data;
      const batch = ProxyAckBatchSchema.parse(JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')));
      expect(batch.mesh).toBe(mesh);
      const gate = evaluateGate('add-backend', 'ca-1', 'ca-2', ungroupProxyStates(batch.groups));
      // Registered but never connected (no kuma-dp): offline, no mTLS insight, so waited for.
      expect(gate).toEqual({ satisfied: false, total: 2, done: 0, pending: ['web-1', 'web-2'], pendingOffline: 2, excluded: 0, expired: 0 });
    } finally {
      await watcher.stop();
      await handle.terminate('test done');
    }
  });
});
