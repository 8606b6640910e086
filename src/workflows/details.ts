/** Renders rotation progress as Markdown for the Temporal UI's "current details". Pure. */
import type { ActionStatus, RotationStatus } from './messages';

const STATE_LABEL: Record<ActionStatus['state'], string> = {
  pending: 'pending',
  'waiting-approval': 'waiting for approval',
  applying: 'applying mesh change',
  reissuing: 're-issuing certificates',
  waiting: 'waiting for proxies',
  done: 'done',
  interrupted: 'interrupted',
};

function bar(done: number, total: number, width = 20): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

export function renderDetails(status: RotationStatus): string {
  const lines = [
    `### CA rotation of mesh \`${status.mesh}\`: \`${status.from}\` → \`${status.to}\``,
    `**Phase:** ${status.phase} · **Step:** ${status.step}${status.paused ? ` · **PAUSED:** ${status.pauseReason ?? ''}` : ''}${status.waitingForApproval ? ' · **waiting for approval** (`ca-rotate approve`)' : ''}`,
    '',
    '| step | state | proxies acked |',
    '|---|---|---|',
    ...status.steps.map((s) => `| ${s.name} | ${STATE_LABEL[s.state]} | ${bar(s.proxies.done, s.proxies.total)} ${s.proxies.done}/${s.proxies.total} |`),
  ];
  const current = status.steps.find((s) => s.name === status.step);
  if (current && current.pending.length > 0 && current.state === 'waiting') {
    lines.push('', `**Waiting for:** ${current.pending.join(', ')}${current.proxies.total - current.proxies.done > current.pending.length ? ', …' : ''}`);
  }
  if (status.excludedProxies > 0) lines.push('', `${status.excludedProxies} offline proxies excluded by policy.`);
  return lines.join('\n');
}
