import { formatStatus, progressBar, statusJson } from '../../../src/cli/output';
import type { RotationStatus } from '../../../src/workflows/messages';

function status(overrides: Partial<RotationStatus> = {}): RotationStatus {
  return {
    workflowId: 'ca-rotation/default',
    mesh: 'default',
    status: 'RUNNING',
    phase: 'rotating',
    step: 'switch-enabled',
    steps: [
      { name: 'add-backend', state: 'done', proxies: { total: 10, done: 10 }, pending: [] },
      { name: 'switch-enabled', state: 'waiting', proxies: { total: 10, done: 7 }, pending: ['dp-3', 'dp-5', 'dp-8'] },
      { name: 'remove-old', state: 'pending', proxies: { total: 0, done: 0 }, pending: [] },
    ],
    from: 'ca-1',
    to: 'ca-2',
    approval: 'auto',
    paused: false,
    waitingForApproval: false,
    excludedProxies: 0,
    startedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:01.000Z',
    signalsReceived: 4,
    ...overrides,
  };
}

describe('CLI output', () => {
  it('progress bars: proportional, capped, and empty while nothing is counted', () => {
    expect(progressBar(0, 10, 10)).toBe('[----------]');
    expect(progressBar(5, 10, 10)).toBe('[#####-----]');
    expect(progressBar(10, 10, 10)).toBe('[##########]');
    expect(progressBar(12, 10, 10)).toBe('[##########]');
    expect(progressBar(0, 0, 10)).toBe('[----------]');
  });

  it('status: a header with the step, one line a step, and the proxies still waited for', () => {
    const text = formatStatus(status(), false);
    expect(text.split('\n')).toEqual([
      'ca-rotation/default: RUNNING (rotating) ca-1 -> ca-2, step switch-enabled',
      '  add-backend     done              10/10 proxies',
      '  switch-enabled  waiting           7/10 proxies',
      '  remove-old      pending           0/0 proxies',
      '  waiting for: dp-3, dp-5, dp-8',
    ]);
  });

  it('status with bars: a step not started yet does not look finished, a done one does', () => {
    const lines = formatStatus(status(), true).split('\n');
    expect(lines[1]).toContain(`${progressBar(1, 1)} 10/10`);
    expect(lines[2]).toContain(`${progressBar(7, 10)} 7/10`);
    expect(lines[3]).toContain(`${progressBar(0, 1)} 0/0`);
  });

  it('status says when it is paused or waits for approval, and how many offline proxies were excluded', () => {
    const text = formatStatus(status({ paused: true, pauseReason: 'change freeze', waitingForApproval: true, excludedProxies: 2 }), false);
    expect(text.split('\n')[0]).toBe('ca-rotation/default: RUNNING (rotating) ca-1 -> ca-2, step switch-enabled · PAUSED: change freeze · waiting for approval (ca-rotate approve)');
    expect(text).toContain('  2 offline proxies excluded by --offline-proxies');
  });

  it('status --json has the DESIGN.md fields and nothing internal to the workflow', () => {
    const json = statusJson(status());
    expect(json).toMatchObject({ workflowId: 'ca-rotation/default', status: 'RUNNING', step: 'switch-enabled', from: 'ca-1', to: 'ca-2' });
    expect(json.steps).toEqual([
      { name: 'add-backend', state: 'done', proxies: { total: 10, done: 10 }, pending: [] },
      { name: 'switch-enabled', state: 'waiting', proxies: { total: 10, done: 7 }, pending: ['dp-3', 'dp-5', 'dp-8'] },
      { name: 'remove-old', state: 'pending', proxies: { total: 0, done: 0 }, pending: [] },
    ]);
    expect(Object.keys(json)).not.toContain('signalsReceived');
  });
});
