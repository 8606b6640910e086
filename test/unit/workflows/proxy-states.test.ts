import { groupProxyStates, type ProxyState } from '../../../src/mesh/insights';
import { ProxyStates } from '../../../src/workflows/proxy-states';

const proxy = (name: string, supportedBackends: string[], issuedBackend?: string, online = true): ProxyState => ({ name, online, supportedBackends, issuedBackend });
const batch = (seq: number, proxies: ProxyState[], removed: string[] = []) => ({ mesh: 'default', seq, groups: groupProxyStates(proxies), removed });
const snapshot = (asOfSeq: number, proxies: ProxyState[]) => ({ mesh: 'default', asOfSeq, groups: groupProxyStates(proxies) });
const ADD = { step: 'add-backend', from: 'ca-1', to: 'ca-2' } as const;

describe('ProxyStates', () => {
  it('keeps the newest news about each proxy: a late or repeated ack batch changes nothing', () => {
    const states = new ProxyStates({ mode: 'wait' });
    states.mergeAcks(batch(5, [proxy('a', ['ca-1', 'ca-2'], 'ca-1')]));
    states.mergeAcks(batch(3, [proxy('a', ['ca-1'], 'ca-1')]));
    states.mergeAcks(batch(5, [proxy('a', ['ca-1'], 'ca-1')]));
    expect(states.evaluate(ADD, 0)).toMatchObject({ satisfied: true, total: 1, done: 1 });
  });

  it('forgets a proxy that left, but not on news as old as its last ack', () => {
    const states = new ProxyStates({ mode: 'wait' });
    states.mergeAcks(batch(1, [proxy('a', ['ca-1']), proxy('b', ['ca-1'])]));
    states.mergeAcks(batch(2, [], ['a']));
    states.mergeAcks(batch(1, [], ['b']));
    expect(states.evaluate(ADD, 0).pending).toEqual(['b']);
  });

  it('a snapshot replaces older news, keeps newer acks, and drops proxies it no longer lists', () => {
    const states = new ProxyStates({ mode: 'wait' });
    states.mergeAcks(batch(4, [proxy('a', ['ca-1']), proxy('b', ['ca-1'])]));
    states.mergeAcks(batch(9, [proxy('c', ['ca-1', 'ca-2'])]));
    states.mergeSnapshot(snapshot(6, [proxy('a', ['ca-1', 'ca-2']), proxy('c', ['ca-1'])]));
    // a: from the snapshot; b: gone (not listed, older than the snapshot); c: its ack at 9 is newer.
    expect(states.evaluate(ADD, 0)).toMatchObject({ satisfied: true, total: 2, done: 2 });
  });

  it('waits for an offline proxy under the wait policy', () => {
    const states = new ProxyStates({ mode: 'wait' });
    states.trackOfflineIn({});
    states.mergeSnapshot(snapshot(1, [proxy('a', ['ca-1'], 'ca-1', false)]));
    expect(states.evaluate(ADD, 0)).toMatchObject({ satisfied: false, pending: ['a'] });
    expect(states.evaluate(ADD, 3_600_000)).toMatchObject({ satisfied: false, pending: ['a'] });
    expect(states.excludedCount).toBe(0);
  });

  it('under the wait policy, stops waiting for an offline proxy once the last certificate it was given has expired', () => {
    const states = new ProxyStates({ mode: 'wait' });
    states.trackOfflineIn({});
    const expiresAt = '2026-06-01T12:00:00.000Z';
    states.mergeSnapshot(snapshot(1, [{ ...proxy('a', ['ca-1'], 'ca-1', false), certificateExpiresAt: expiresAt }, proxy('b', ['ca-1', 'ca-2'])]));
    expect(states.evaluate(ADD, Date.parse(expiresAt) - 1)).toMatchObject({ satisfied: false, pending: ['a'], pendingOffline: 1 });
    expect(states.evaluate(ADD, Date.parse(expiresAt))).toMatchObject({ satisfied: true, total: 1, expired: 1 });
  });

  it('leaves out a proxy offline for the exclude policy\'s time, counting from when it was first seen offline, in the carried record', () => {
    const offlineSince: Record<string, number> = {};
    const states = new ProxyStates({ mode: 'exclude', afterMs: 1_000 });
    states.trackOfflineIn(offlineSince);
    states.mergeSnapshot(snapshot(1, [proxy('a', ['ca-1'], 'ca-1', false), proxy('b', ['ca-1', 'ca-2'])]));
    expect(states.evaluate(ADD, 10_000)).toMatchObject({ satisfied: false, pending: ['a'] });
    expect(offlineSince).toEqual({ a: 10_000 });
    expect(states.evaluate(ADD, 11_000)).toMatchObject({ satisfied: true, total: 1 });
    expect(states.excludedCount).toBe(1);
    // Back online: counted again, and its offline time is forgotten.
    states.mergeAcks(batch(2, [proxy('a', ['ca-1'], 'ca-1')]));
    expect(states.evaluate(ADD, 12_000)).toMatchObject({ satisfied: false, pending: ['a'] });
    expect(offlineSince).toEqual({});
  });
});
