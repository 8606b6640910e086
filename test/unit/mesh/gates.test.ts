import { PENDING_LIMIT, admitMeshChange, evaluateGate, proxyPassed } from '../../../src/mesh/gates';
import type { ProxyState } from '../../../src/mesh/insights';
import type { Mesh } from '../../../src/mesh/schema';

const proxy = (name: string, supportedBackends: string[], issuedBackend?: string, online = true, certificateExpiresAt?: string): ProxyState => ({
  name,
  online,
  supportedBackends,
  issuedBackend,
  ...(certificateExpiresAt ? { certificateExpiresAt } : {}),
});
const NOW = Date.parse('2026-06-01T12:00:00Z');
const EXPIRED = '2026-06-01T11:59:59Z';
const VALID = '2026-06-02T12:00:00Z';

const mesh = (enabledBackend: string, backends: string[]): Mesh => ({
  type: 'Mesh',
  name: 'default',
  mtls: { enabledBackend, backends: backends.map((name) => ({ name, type: name === 'ca-1' ? 'builtin' : 'provided' })) },
});

describe('proxyPassed', () => {
  it.each<[string, Parameters<typeof proxyPassed>[0], ProxyState, boolean]>([
    ['add-backend: trusts only the old CA', 'add-backend', proxy('a', ['ca-1'], 'ca-1'), false],
    ['add-backend: trusts both', 'add-backend', proxy('a', ['ca-1', 'ca-2'], 'ca-1'), true],
    ['switch-enabled: still holds an old certificate', 'switch-enabled', proxy('a', ['ca-1', 'ca-2'], 'ca-1'), false],
    ['switch-enabled: holds a new certificate', 'switch-enabled', proxy('a', ['ca-1', 'ca-2'], 'ca-2'), true],
    ['switch-enabled: no certificate yet', 'switch-enabled', proxy('a', ['ca-1', 'ca-2']), false],
    ['remove-old: still trusts the old CA', 'remove-old', proxy('a', ['ca-1', 'ca-2'], 'ca-2'), false],
    ['remove-old: trusts only the new CA', 'remove-old', proxy('a', ['ca-2'], 'ca-2'), true],
    ['remove-old: trusts nothing (lost its bundle)', 'remove-old', proxy('a', [], 'ca-2'), false],
    ['remove-old: new bundle but old certificate', 'remove-old', proxy('a', ['ca-2'], 'ca-1'), false],
  ])('%s → %p', (_case, step, state, expected) => {
    expect(proxyPassed(step, 'ca-1', 'ca-2', state)).toBe(expected);
  });
});

describe('evaluateGate', () => {
  const proxies = [proxy('c', ['ca-1'], 'ca-1'), proxy('a', ['ca-1', 'ca-2'], 'ca-1'), proxy('b', ['ca-1'], 'ca-1', false)];

  it('waits for offline proxies (they may still be serving) and names the stragglers, sorted', () => {
    expect(evaluateGate('add-backend', 'ca-1', 'ca-2', proxies)).toEqual({ satisfied: false, total: 3, done: 1, pending: ['b', 'c'], pendingOffline: 1, excluded: 0, expired: 0 });
  });

  it('neither waits for nor counts excluded proxies', () => {
    expect(evaluateGate('add-backend', 'ca-1', 'ca-2', proxies, { excluded: new Set(['b', 'c']) })).toEqual({
      satisfied: true,
      total: 1,
      done: 1,
      pending: [],
      pendingOffline: 0,
      excluded: 2,
      expired: 0,
    });
  });

  it('stops counting a straggler once the last certificate it was given has expired, online or not', () => {
    const mixed = [proxy('gone', ['ca-1'], 'ca-1', false, EXPIRED), proxy('stale', ['ca-1'], 'ca-1', true, EXPIRED), proxy('sleeping', ['ca-1'], 'ca-1', false, VALID), proxy('a', ['ca-1', 'ca-2'], 'ca-1', true, VALID)];
    expect(evaluateGate('add-backend', 'ca-1', 'ca-2', mixed, { nowMs: NOW })).toMatchObject({ satisfied: false, total: 2, done: 1, pending: ['sleeping'], pendingOffline: 1, expired: 2 });
    // Without the time, expiry releases nobody.
    expect(evaluateGate('add-backend', 'ca-1', 'ca-2', mixed)).toMatchObject({ total: 4, expired: 0 });
  });

  it('treats an unreadable expiry as still valid', () => {
    expect(evaluateGate('add-backend', 'ca-1', 'ca-2', [proxy('x', ['ca-1'], 'ca-1', false, 'soon')], { nowMs: NOW })).toMatchObject({ satisfied: false, pending: ['x'] });
  });

  it('is satisfied by an empty mesh', () => {
    expect(evaluateGate('remove-old', 'ca-1', 'ca-2', [])).toMatchObject({ satisfied: true, total: 0, done: 0, pending: [] });
  });

  it(`names at most ${PENDING_LIMIT} stragglers but counts them all`, () => {
    const many = Array.from({ length: 50 }, (_, i) => proxy(`dp-${String(i).padStart(2, '0')}`, ['ca-1'], 'ca-1'));
    const gate = evaluateGate('add-backend', 'ca-1', 'ca-2', many);
    expect(gate).toMatchObject({ satisfied: false, total: 50, done: 0 });
    expect(gate.pending).toEqual(many.slice(0, PENDING_LIMIT).map((p) => p.name));
  });
});

describe('admitMeshChange', () => {
  const before = mesh('ca-1', ['ca-1', 'ca-2']);
  const switched = mesh('ca-2', ['ca-1', 'ca-2']);
  const removed = mesh('ca-2', ['ca-2']);

  it('allows anything when there is no current mesh', () => {
    expect(admitMeshChange(undefined, removed, [])).toEqual({ allowed: true });
  });

  it('allows adding a backend at any time', () => {
    expect(admitMeshChange(mesh('ca-1', ['ca-1']), before, [proxy('a', ['ca-1'], 'ca-1')])).toEqual({ allowed: true });
  });

  it('refuses to switch while a proxy does not trust the new backend, naming it', () => {
    const result = admitMeshChange(before, switched, [proxy('b', ['ca-1'], 'ca-1'), proxy('a', ['ca-1', 'ca-2'], 'ca-1')]);
    expect(result).toEqual({ allowed: false, reason: expect.stringContaining('cannot switch enabledBackend to "ca-2": 1 of 2'), pending: ['b'] });
  });

  it('refuses to switch while an offline proxy that may still be serving does not trust the new backend, and says so', () => {
    const result = admitMeshChange(before, switched, [proxy('a', ['ca-1', 'ca-2'], 'ca-1'), proxy('z', ['ca-1'], 'ca-1', false, VALID)], { nowMs: NOW });
    expect(result).toEqual({ allowed: false, reason: expect.stringMatching(/1 of 2 .*1 of them offline/), pending: ['z'] });
  });

  it('refuses adding and switching in one edit while proxies are offline (the issue 12 incident)', () => {
    const offlineButServing = ['a', 'b', 'c', 'd', 'e'].map((name) => proxy(name, ['ca-1'], 'ca-1', false, VALID));
    expect(admitMeshChange(mesh('ca-1', ['ca-1']), switched, offlineButServing, { nowMs: NOW })).toMatchObject({ allowed: false, pending: ['a', 'b', 'c', 'd', 'e'] });
  });

  it('allows the switch once every proxy trusts it, or the others are excluded by name or hold an expired certificate', () => {
    const proxies = [proxy('a', ['ca-1', 'ca-2'], 'ca-1'), proxy('gone', ['ca-1'], 'ca-1', false, EXPIRED), proxy('lost', ['ca-1'], 'ca-1', false, VALID)];
    expect(admitMeshChange(before, switched, proxies, { nowMs: NOW })).toMatchObject({ allowed: false, pending: ['lost'] });
    expect(admitMeshChange(before, switched, proxies, { nowMs: NOW, excluded: new Set(['lost']) })).toEqual({ allowed: true });
  });

  it('refuses to remove a backend a proxy still holds a certificate from, naming them sorted', () => {
    const result = admitMeshChange(switched, removed, [proxy('b', ['ca-1', 'ca-2'], 'ca-1'), proxy('a', ['ca-1', 'ca-2'], 'ca-1', false), proxy('c', ['ca-1', 'ca-2'], 'ca-2')]);
    expect(result).toEqual({ allowed: false, reason: expect.stringMatching(/cannot remove backend "ca-1": 2 data plane proxies .*1 of them offline/), pending: ['a', 'b'] });
  });

  it('allows the removal once every proxy that may still serve holds a new certificate', () => {
    expect(admitMeshChange(switched, removed, [proxy('a', ['ca-1', 'ca-2'], 'ca-2'), proxy('z', ['ca-1'], 'ca-1', false, EXPIRED)], { nowMs: NOW })).toEqual({ allowed: true });
  });

  it('refuses switching and removing in one edit while proxies hold old certificates', () => {
    const result = admitMeshChange(before, removed, [proxy('a', ['ca-1', 'ca-2'], 'ca-1')]);
    expect(result).toMatchObject({ allowed: false, pending: ['a'] });
  });
});
