/**
 * Bounded history: the events a rotation writes to Temporal history do not grow with the number of
 * proxies. Acks arrive as time-batched signals and the gate runs over workflow state, so 16 times the
 * proxies costs at most a few more signals.
 */
import { startDataplaneHost } from '../../src/dataplane/host';
import { prepareTarget, type LocalStack } from '../../src/cli/stack';
import { startRotation } from '../../src/cli/start-rotation';
import { dataplaneToken, startTestStack, uniqueName } from './support';

async function rotationEvents(stack: LocalStack, from: string, to: string): Promise<{ events: number; signals: number }> {
  const target = await prepareTarget(stack, 'builtin', to);
  const handle = await startRotation(stack.client, { mesh: stack.mesh, from, target, taskQueue: stack.taskQueue });
  const result = await handle.result();
  expect(result.status).toBe('COMPLETED');
  const history = await handle.fetchHistory();
  return { events: history.events?.length ?? 0, signals: result.signalsReceived };
}

describe('workflow history of a rotation', () => {
  let stack: LocalStack;
  afterAll(async () => {
    await stack?.stop();
  });

  it('stays about the same size with 10 and with 160 proxies', async () => {
    stack = await startTestStack({ proxies: 10, mesh: uniqueName('history'), traffic: false });
    const small = await rotationEvents(stack, 'ca-1', 'ca-2');

    const more = await startDataplaneHost({ controlPlaneUrl: stack.controlPlane.url, token: await dataplaneToken(stack, 'more'), caPem: stack.controlPlane.caPem, mesh: stack.mesh, count: 150, namePrefix: 'more' });
    try {
      await more.waitUntilReady(120_000);
      const large = await rotationEvents(stack, 'ca-2', 'ca-3');
      console.log(`history events: ${small.events} with 10 proxies (${small.signals} signals), ${large.events} with 160 proxies (${large.signals} signals)`);
      expect(large.events).toBeLessThan(250);
      expect(large.events - small.events).toBeLessThan(60);
    } finally {
      await more.stop();
    }
  });
});
