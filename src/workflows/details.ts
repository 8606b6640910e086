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
  // Nothing counted yet reads as not started, not as finished.
  const filled = total === 0 ? 0 : Math.round((done / total) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

export function renderDetails(status: RotationStatus): string {
  const lines = [
    // One line above the steps: the UI shows the details in a short frame, beside the static summary
    // that already names the mesh.
    `**\`${status.from}\` → \`${status.to}\`** · **Phase:** ${status.phase} · **Step:** ${status.step}${status.paused ? ` · **PAUSED:** ${status.pauseReason ?? ''}` : ''}${status.waitingForApproval ? ' · **waiting for approval**' : ''}`,
    '',
    // A list, not a table: no header row to spend a line of the frame on.
    ...status.steps.map((s) => `- **${s.name}** ${STATE_LABEL[s.state]} ${bar(s.proxies.done, s.proxies.total)} ${s.proxies.done} of ${s.proxies.total} proxies`),
  ];
  const current = status.steps.find((s) => s.name === status.step);
  if (current && current.pending.length > 0 && current.state === 'waiting') {
    lines.push('', `**Waiting for:** ${current.pending.join(', ')}${current.proxies.total - current.proxies.done > current.pending.length ? ', …' : ''}`);
  }
  if (status.excludedProxies > 0) lines.push('', `${status.excludedProxies} offline proxies excluded by policy.`);
  return lines.join('\n');
}
