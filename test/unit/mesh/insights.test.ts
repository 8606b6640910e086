import { ProxyAckBatchSchema, groupProxyStates, ungroupProxyStates, type ProxyState } from '../../../src/mesh/insights';

describe('groupProxyStates', () => {
  it('groups by state and carries certificate expiry rounded up to the minute, so a group never looks expired too early', () => {
    const states: ProxyState[] = [
      { name: 'a', online: true, supportedBackends: ['ca-2', 'ca-1'], issuedBackend: 'ca-1', certificateExpiresAt: '2026-06-01T12:00:10Z' },
      { name: 'b', online: true, supportedBackends: ['ca-1', 'ca-2'], issuedBackend: 'ca-1', certificateExpiresAt: '2026-06-01T12:00:50Z' },
      { name: 'c', online: false, supportedBackends: ['ca-1', 'ca-2'], issuedBackend: 'ca-1', certificateExpiresAt: '2026-06-01T12:00:50Z' },
      { name: 'd', online: true, supportedBackends: ['ca-1'] },
    ];
    const groups = groupProxyStates(states);
    expect(groups).toEqual([
      { online: true, supportedBackends: ['ca-1', 'ca-2'], issuedBackend: 'ca-1', certificateExpiresAt: '2026-06-01T12:01:00.000Z', names: ['a', 'b'] },
      { online: false, supportedBackends: ['ca-1', 'ca-2'], issuedBackend: 'ca-1', certificateExpiresAt: '2026-06-01T12:01:00.000Z', names: ['c'] },
      { online: true, supportedBackends: ['ca-1'], issuedBackend: undefined, names: ['d'] },
    ]);
    const back = [...ungroupProxyStates(ProxyAckBatchSchema.parse({ mesh: 'm', seq: 1, groups }).groups)];
    expect(back.find((p) => p.name === 'c')).toEqual({ name: 'c', online: false, supportedBackends: ['ca-1', 'ca-2'], issuedBackend: 'ca-1', certificateExpiresAt: '2026-06-01T12:01:00.000Z' });
    expect(back.find((p) => p.name === 'd')).not.toHaveProperty('certificateExpiresAt');
  });

  it('accepts batches from senders that know no expiry (older control planes)', () => {
    const batch = ProxyAckBatchSchema.parse({ mesh: 'm', seq: 3, groups: [{ online: true, supportedBackends: ['ca-1'], names: ['x'] }] });
    expect([...ungroupProxyStates(batch.groups)]).toEqual([{ name: 'x', online: true, supportedBackends: ['ca-1'], issuedBackend: undefined }]);
  });
});
