/** Output helpers: JSON documents, issue lists and progress bars (bars on a terminal, plain lines otherwise). */
import type { ValidationIssue } from '../mesh/schema';
import type { ActionStatus, RotationStatus } from '../workflows/messages';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printIssues(kind: 'error' | 'warning', issues: readonly ValidationIssue[]): void {
  for (const issue of issues) process.stdout.write(`  ${kind}: ${issue.path || '(document)'}: ${issue.message}\n`);
}

/** `total` 0 (no proxy counted yet) is an empty bar: a step that has not started must not look finished. */
export function progressBar(done: number, total: number, width = 30): string {
  const ratio = total === 0 ? 0 : Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

function stepLine(step: ActionStatus, withBar: boolean): string {
  const counts = `${step.proxies.done}/${step.proxies.total}`;
  // A step done with no proxy in the mesh is complete all the same.
  const bar = withBar ? `${step.state === 'done' ? progressBar(1, 1) : progressBar(step.proxies.done, step.proxies.total)} ` : '';
  return `${step.name.padEnd(15)} ${step.state.padEnd(17)} ${bar}${counts} proxies`;
}

/** Human-readable status: a header line and one line a step. */
export function formatStatus(status: RotationStatus, withBars: boolean): string {
  const flags = [status.paused ? `PAUSED: ${status.pauseReason ?? ''}` : '', status.waitingForApproval ? 'waiting for approval (ca-rotate approve)' : '']
    .filter(Boolean)
    .join(' · ');
  const lines = [`${status.workflowId}: ${status.status} (${status.phase}) ${status.from} -> ${status.to}, step ${status.step}${flags ? ` · ${flags}` : ''}`];
  for (const step of status.steps) lines.push(`  ${stepLine(step, withBars)}`);
  const current = status.steps.find((s) => s.name === status.step);
  if (current && current.state === 'waiting' && current.pending.length > 0) lines.push(`  waiting for: ${current.pending.join(', ')}`);
  if (status.excludedProxies > 0) lines.push(`  ${status.excludedProxies} offline proxies excluded by --offline-proxies`);
  return lines.join('\n');
}

/** The status with --json, as the README's `--json` shapes section documents it. */
export function statusJson(status: RotationStatus): Record<string, unknown> {
  return {
    workflowId: status.workflowId,
    status: status.status,
    step: status.step,
    steps: status.steps.map((s) => ({ name: s.name, state: s.state, proxies: s.proxies, pending: s.pending })),
    from: status.from,
    to: status.to,
    paused: status.paused,
    pauseReason: status.pauseReason,
    waitingForApproval: status.waitingForApproval,
    excludedProxies: status.excludedProxies,
  };
}
