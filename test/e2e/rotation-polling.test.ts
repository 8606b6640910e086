/**
 * A full rotation against our control plane with pushed acks turned off: the control plane relays
 * nothing to Temporal (it announces no `pushed-acks` in `GET /`), so the worker's insight watcher polls
 * `_overview` and sends the workflow the same `proxyAcks` signals, as it does for Kong Mesh. The settle
 * rule is on (1 s) so a real rotation passes through it. Zero failed requests, three mesh versions.
 */
import { prepareTarget, type LocalStack } from '../../src/cli/stack';
import { startRotation } from '../../src/cli/start-rotation';
import { ControlPlaneClient } from '../../src/controlplane/client';
import { startTestStack } from './support';

const PROXIES = 10;

describe('a full CA rotation with acks polled, not pushed', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startTestStack({ proxies: PROXIES, pushedAcks: false, insightSettleMs: 1_000, traffic: { concurrency: 4 } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('announces no pushed acks, and rotates builtin -> provided through the watcher, failing no request', async () => {
    const index = await new ControlPlaneClient({ url: stack.controlPlane.url, caFile: stack.controlPlane.caFile }).index();
    expect(index.meshCaRotator?.extras).toEqual(['mesh-versions', 'reissue']);

    const target = await prepareTarget(stack, 'provided', 'ca-2');
    const versionsBefore = (await stack.cp.meshHistory(stack.mesh)).length;
    const before = stack.dataplanes.stats();
    const startedAt = Date.now();
    const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-1', target, taskQueue: stack.taskQueue });
    const result = await handle.result();
    await new Promise((r) => setTimeout(r, 500));
    const after = stack.dataplanes.stats();
    console.log(
      `polled rotation: ${result.status} in ${Date.now() - startedAt} ms, ${after.requests - before.requests} requests, ${after.failed - before.failed} failed, ${result.signalsReceived} watcher signals`,
    );
    expect(result.status).toBe('COMPLETED');
    expect(after.failed - before.failed).toBe(0);
    expect(after.requests - before.requests).toBeGreaterThan(0);
    expect((await stack.cp.meshHistory(stack.mesh)).length - versionsBefore).toBe(3);
    expect(result.steps.map((s) => [s.name, s.state, s.proxies.done, s.proxies.total])).toEqual([
      ['add-backend', 'done', PROXIES, PROXIES],
      ['switch-enabled', 'done', PROXIES, PROXIES],
      ['remove-old', 'done', PROXIES, PROXIES],
    ]);
    // The acks came as signals although the control plane pushed none: the watcher sent them.
    expect(result.signalsReceived).toBeGreaterThan(0);
  });
});
