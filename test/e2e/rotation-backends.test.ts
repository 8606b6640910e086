/**
 * Full rotations against real servers: Temporal dev server, OpenBao, the control plane, and proxies
 * serving and calling each other over mTLS the whole time. Each must fail zero requests, leave exactly
 * three new mesh versions, and keep every secret out of workflow history.
 */
import { temporal } from '@temporalio/proto';
import fs from 'node:fs';
import path from 'node:path';
import { prepareTarget, type LocalStack, type TargetBackendType } from '../../src/cli/stack';
import { startRotation } from '../../src/cli/start-rotation';
import { burnCpuDuringFile, decodedPayloads, expectNoTrustFailure, historyText, secretNeedles, startTestStack } from './support';
import { testServers } from '../harness/env';

const PROXIES = 20;

async function rotate(stack: LocalStack, from: string, type: TargetBackendType, name: string) {
  const target = await prepareTarget(stack, type, name);
  const versionsBefore = (await stack.cp.meshHistory(stack.mesh)).length;
  const requestsBefore = stack.dataplanes.stats();
  const handle = await startRotation(stack.client, { mesh: stack.mesh, from, target, taskQueue: stack.taskQueue });
  const result = await handle.result();
  // Traffic keeps flowing after the last step: a late failure would show here too.
  await new Promise((r) => setTimeout(r, 500));
  const requestsAfter = stack.dataplanes.stats();
  const history = await stack.cp.meshHistory(stack.mesh);
  return {
    handle,
    result,
    newVersions: history.length - versionsBefore,
    requests: requestsAfter.requests - requestsBefore.requests,
    failed: requestsAfter.failed - requestsBefore.failed,
    failures: requestsAfter.failuresByReason,
    traffic: requestsAfter,
    finalMesh: history[history.length - 1]?.mesh,
  };
}

burnCpuDuringFile();

describe('a full CA rotation under live mTLS traffic, on a busy machine', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startTestStack({ proxies: PROXIES });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('rotates builtin -> provided, then provided -> builtin, then builtin -> builtin, failing no request on trust', async () => {
    const chain: [string, TargetBackendType, string][] = [
      ['ca-1', 'provided', 'ca-2'],
      ['ca-2', 'builtin', 'ca-3'],
      ['ca-3', 'builtin', 'ca-4'],
    ];
    for (const [from, type, to] of chain) {
      const run = await rotate(stack, from, type, to);
      console.log(`${from} -> ${to} (${type}): ${run.result.status}, ${run.requests} requests during the rotation, ${run.failed} failed, ${run.newVersions} mesh versions`);
      expect(run.result.status).toBe('COMPLETED');
      expectNoTrustFailure(run.traffic);
      expect(run.requests).toBeGreaterThan(0);
      expect(run.newVersions).toBe(3);
      expect(run.result.steps.map((s) => [s.name, s.state, s.proxies.done, s.proxies.total])).toEqual([
        ['add-backend', 'done', PROXIES, PROXIES],
        ['switch-enabled', 'done', PROXIES, PROXIES],
        ['remove-old', 'done', PROXIES, PROXIES],
      ]);
      expect(run.finalMesh?.mtls?.enabledBackend).toBe(to);
      expect(run.finalMesh?.mtls?.backends?.map((b) => b.name)).toEqual([to]);
      // Every proxy now holds a certificate from the new CA and trusts only it.
      const insights = await stack.cp.listDataplaneInsights(stack.mesh);
      expect(insights.every((p) => p.mTLS.issuedBackend === to && p.mTLS.supportedBackends.join() === to)).toBe(true);
    }
  });

  it('rotates builtin -> vault (a real OpenBao PKI engine), failing no request on trust, with no secret in history', async () => {
    const run = await rotate(stack, 'ca-4', 'vault', 'ca-5');
    console.log(`ca-4 -> ca-5 (vault): ${run.result.status}, ${run.requests} requests, ${run.failed} failed`);
    expect(run.result.status).toBe('COMPLETED');
    expectNoTrustFailure(run.traffic);
    expect(run.newVersions).toBe(3);

    const { text, events } = await historyText(run.handle);
    const searchable = decodedPayloads(text);
    // The vault token and the control plane token are secrets; so is any PEM private key.
    for (const needle of secretNeedles([testServers().vaultToken, stack.controlPlane.token])) {
      expect(searchable.includes(needle)).toBe(false);
    }
    // The history still names the secret by reference, so the scan above looked at real payloads.
    expect(searchable).toContain('ca-5-vault-token');
    console.log(`vault rotation history: ${events} events`);
    if (process.env.RECORD_HISTORIES === '1') {
      // Binary protobuf: the SDK's JSON helpers trip over two copies of protobufjs in node_modules.
      const file = path.resolve(__dirname, '../fixtures/histories/builtin-to-vault.history.pb');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, temporal.api.history.v1.History.encode(await run.handle.fetchHistory()).finish());
    }
  });
});
