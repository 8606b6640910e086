/**
 * The ack relay against a real Temporal server: acks of real proxies reach workflow `ca-rotation/<mesh>`
 * as batched `proxyAcks` signals carrying backend names the control plane derived, with increasing seqs;
 * a mesh without a rotation running relays nothing and logs no warning.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ControlPlaneClient } from '../../src/controlplane/client';
import { startControlPlane, type RunningControlPlane } from '../../src/controlplane/server';
import { startDataplaneHost, type DataplaneHost } from '../../src/dataplane/host';
import { PROXY_ACKS_SIGNAL, type ProxyAckBatch, ProxyAckBatchSchema, rotationWorkflowId, ungroupProxyStates } from '../../src/mesh/insights';
import { testServers } from '../harness/env';

const TOKEN = 'relay-test-token';
const PROXIES = 20;

describe('ack relay to the rotation workflow', () => {
  const servers = testServers();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cp-relay-'));
  const logs: string[] = [];
  const hosts: DataplaneHost[] = [];
  let cp: RunningControlPlane;
  let connection: Connection;
  let temporal: Client;

  beforeAll(async () => {
    cp = await startControlPlane({
      dbFile: path.join(dir, 'cp.db'),
      port: 0,
      token: TOKEN,
      secretKey: Buffer.alloc(32, 5),
      temporal: { address: servers.temporalAddress, namespace: servers.temporalNamespace },
      logger: (line) => void logs.push(line),
    });
    connection = await Connection.connect({ address: servers.temporalAddress });
    temporal = new Client({ connection, namespace: servers.temporalNamespace });
  });

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await cp.stop();
    await connection.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function signalsOf(workflowId: string): Promise<ProxyAckBatch[]> {
    const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).flatMap((event) => {
      const signaled = event.workflowExecutionSignaledEventAttributes;
      if (signaled?.signalName !== PROXY_ACKS_SIGNAL) return [];
      const payload = signaled.input?.payloads?.[0]?.data;
      return payload ? [ProxyAckBatchSchema.parse(JSON.parse(Buffer.from(payload).toString('utf8')))] : [];
    });
  }

  async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await probe()) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  test('acks of real proxies arrive as few batched signals with control-plane-derived backends and increasing seqs', async () => {
    const client = new ControlPlaneClient({ url: cp.url, token: TOKEN, caFile: cp.caFile });
    await client.putMesh({ type: 'Mesh', name: 'relayed', mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } });
    // A workflow execution with no worker: its history still records every signal it receives.
    const workflowId = rotationWorkflowId('relayed');
    await temporal.workflow.start('recordsSignalsOnly', { taskQueue: `nobody-${Date.now()}`, workflowId, workflowExecutionTimeout: '5m' });
    try {
      const host = await startDataplaneHost({ controlPlaneUrl: cp.url, token: TOKEN, caPem: cp.caPem, mesh: 'relayed', count: PROXIES, namePrefix: 'relayed' });
      hosts.push(host);
      await host.waitUntilReady(60_000);

      const latest = async () => {
        const state = new Map<string, { online: boolean; supportedBackends: readonly string[]; issuedBackend?: string }>();
        for (const batch of await signalsOf(workflowId)) for (const proxy of ungroupProxyStates(batch.groups)) state.set(proxy.name, proxy);
        return state;
      };
      await waitFor('every proxy reported on ca-1 through signals', async () => {
        const state = await latest();
        return state.size === PROXIES && [...state.values()].every((s) => s.online && s.issuedBackend === 'ca-1' && s.supportedBackends.join() === 'ca-1');
      });

      await host.stop();
      await waitFor('every proxy reported offline', async () => [...(await latest()).values()].every((s) => !s.online));

      const batches = await signalsOf(workflowId);
      const seqs = batches.map((b) => b.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      // Registration, certificates, acks and the disconnect of 20 proxies: batched, not one signal per ack.
      expect(batches.length).toBeLessThan(PROXIES);
      const snapshot = await client.proxySnapshot('relayed');
      expect(snapshot.asOfSeq).toBe(seqs.at(-1));
    } finally {
      await temporal.workflow.getHandle(workflowId).terminate('test over');
    }
  });

  test('no rotation running: acks are recorded as insights, nothing is relayed, nothing is logged', async () => {
    const client = new ControlPlaneClient({ url: cp.url, token: TOKEN, caFile: cp.caFile });
    await client.putMesh({ type: 'Mesh', name: 'quiet', mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } });
    const host = await startDataplaneHost({ controlPlaneUrl: cp.url, token: TOKEN, caPem: cp.caPem, mesh: 'quiet', count: 3, namePrefix: 'quiet' });
    hosts.push(host);
    await host.waitUntilReady(60_000);
    await waitFor('insights on ca-1', async () => (await client.listDataplaneInsights('quiet')).every((p) => p.mTLS.issuedBackend === 'ca-1'));
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // past a relay interval
    expect(logs.filter((line) => line.includes('ack relay'))).toEqual([]);
  });
});
