/**
 * The settle rule: a gate believes a control plane's insights only when the server produced them at
 * least the settle time after the step was applied, by the server's own clock.
 */
import { evaluateGate } from '../../../src/mesh/gates';
import { readSettledProxies, settleProxyReading } from '../../../src/activities/proxy-insights';
import { isSettled } from '../../../src/mesh/settle';
import type { MeshTarget, ProxyReading } from '../../../src/activities/mesh-target';

const APPLIED = Date.parse('2026-11-29T10:00:00.000Z');
const SETTLE = 12_000;

/** Insights still from before the step (old config) that would pass the gate of step 1 if believed. */
function readingAt(serverTimeMs: number | undefined): ProxyReading {
  return {
    proxies: [
      { name: 'web-1', online: true, supportedBackends: ['ca-1', 'ca-2'], issuedBackend: 'ca-1' },
      { name: 'web-2', online: false, supportedBackends: ['ca-1', 'ca-2'], issuedBackend: 'ca-1' },
    ],
    ...(serverTimeMs !== undefined ? { serverTimeMs } : {}),
  };
}

describe('settle rule', () => {
  it('ignores insights served before the step was applied plus the settle time: every proxy stays pending', () => {
    const early = settleProxyReading(readingAt(APPLIED + SETTLE - 1_000), APPLIED, SETTLE);
    expect(early.settled).toBe(false);
    // Online state still counts (offline policy); the mTLS state is unknown, which no gate accepts.
    expect(early.proxies).toEqual([
      { name: 'web-1', online: true, supportedBackends: [] },
      { name: 'web-2', online: false, supportedBackends: [] },
    ]);
    for (const step of ['add-backend', 'switch-enabled', 'remove-old'] as const) {
      expect(evaluateGate(step, 'ca-1', 'ca-2', early.proxies)).toMatchObject({ satisfied: false, total: 2, done: 0 });
    }
  });

  it('believes insights served at or after the step plus the settle time', () => {
    const settled = settleProxyReading(readingAt(APPLIED + SETTLE), APPLIED, SETTLE);
    expect(settled.settled).toBe(true);
    expect(evaluateGate('add-backend', 'ca-1', 'ca-2', settled.proxies)).toMatchObject({ satisfied: true, total: 2, done: 2 });
  });

  it('does not settle without the server clock or the mesh time, unless the rule is off (0: our acks)', () => {
    expect(isSettled(undefined, APPLIED, SETTLE)).toBe(false);
    expect(isSettled(APPLIED + 60_000, undefined, SETTLE)).toBe(false);
    expect(isSettled(undefined, undefined, 0)).toBe(true);
  });

  it('orders readings by the server seq where it has one, else by its clock', () => {
    expect(settleProxyReading({ ...readingAt(APPLIED), seq: 42 }, APPLIED, 0).seq).toBe(42);
    expect(settleProxyReading(readingAt(APPLIED + 5_000), APPLIED, 0).seq).toBe(APPLIED + 5_000);
  });

  it('reads the proxies before the mesh, so a step applied in between can only hold the insights back', async () => {
    const calls: string[] = [];
    let modifiedAtMs = APPLIED;
    const target = {
      async readProxies() {
        calls.push('proxies');
        const reading = readingAt(APPLIED + SETTLE + 1_000);
        modifiedAtMs = APPLIED + 2_000; // the next step lands while the proxies are being listed
        return reading;
      },
      async getMesh() {
        calls.push('mesh');
        return { mesh: { type: 'Mesh' as const, name: 'default' }, modifiedAtMs };
      },
    } as unknown as MeshTarget;
    const result = await readSettledProxies(target, 'default', SETTLE);
    expect(calls).toEqual(['proxies', 'mesh']);
    expect(result.settled).toBe(false);
  });
});
