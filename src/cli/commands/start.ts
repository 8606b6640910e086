/** `ca-rotate start -f TARGET [--approval auto|manual] [--json]`: validates, uploads Secrets, starts the workflow. */
import { parseDuration } from '../../mesh/duration';
import { planRotation } from '../../mesh/plan';
import { inlineSecretMaterial } from '../../mesh/secret-references';
import type { OfflineProxyPolicy, RotationOptions } from '../../workflows/messages';
import { controlPlaneTarget, currentMesh, onControlPlane, requireRotatableControlPlane } from '../control-plane';
import { checkDocuments, readInputFile } from '../documents';
import { CliError, EXIT_OK, EXIT_REFUSED } from '../errors';
import { printIssues, printJson } from '../output';
import type { Settings } from '../settings';
import { refuseIfRotationRunning, startRotation } from '../start-rotation';
import { connectTemporal } from '../temporal';

export interface StartFlags {
  file: string;
  approval?: string;
  stepTimeout?: string;
  offlineProxies?: string;
  json?: boolean;
}

function durationFlag(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new CliError(`${flag} ${text}: not a duration (examples: 90s, 10m, 1h)`, EXIT_REFUSED);
  return ms;
}

/** `wait` (default) or `exclude-after=DURATION`. */
export function parseOfflinePolicy(text: string | undefined): OfflineProxyPolicy {
  if (!text || text === 'wait') return { mode: 'wait' };
  const match = /^exclude-after=(.+)$/.exec(text);
  if (!match?.[1]) throw new CliError(`--offline-proxies ${text}: use "wait" or "exclude-after=DURATION" (e.g. exclude-after=5m)`, EXIT_REFUSED);
  return { mode: 'exclude', afterMs: durationFlag('--offline-proxies exclude-after=', match[1]) };
}

export async function startCommand(flags: StartFlags, settings: Settings): Promise<number> {
  if (flags.approval && flags.approval !== 'auto' && flags.approval !== 'manual') {
    throw new CliError(`--approval ${flags.approval}: must be "auto" or "manual"`, EXIT_REFUSED);
  }
  const options: Partial<RotationOptions> = {
    approval: (flags.approval as 'auto' | 'manual' | undefined) ?? 'auto',
    offlineProxies: parseOfflinePolicy(flags.offlineProxies),
    ...(flags.stepTimeout ? { stepTimeoutMs: durationFlag('--step-timeout', flags.stepTimeout) } : {}),
  };
  const input = readInputFile(flags.file);
  // Before anything else: a control plane that cannot do the procedure (Kuma OSS) refuses at once.
  const cp = controlPlaneTarget(settings);
  await requireRotatableControlPlane(settings, cp);
  const checked = await checkDocuments(input, settings);
  const inline = checked.mesh ? inlineSecretMaterial(checked.mesh) : [];
  const errors = [...checked.errors, ...inline];
  if (errors.length > 0 || !checked.mesh) {
    if (flags.json) printJson({ started: false, errors, warnings: checked.warnings });
    else {
      process.stdout.write(`${flags.file}: invalid, nothing started\n`);
      printIssues('error', errors);
    }
    return EXIT_REFUSED;
  }
  const target = checked.mesh;
  const current = await currentMesh(settings, target.name);
  const planned = planRotation(current.mesh, target);
  if (!planned.ok) {
    if (flags.json) printJson({ started: false, errors: planned.errors, warnings: [] });
    else printIssues('error', planned.errors);
    return EXIT_REFUSED;
  }

  const temporal = await connectTemporal(settings);
  try {
    // Checked before the upload below: a second `start` must not replace the Secrets of a running rotation.
    await refuseIfRotationRunning(temporal.client, target.name);
    // Secrets go to the control plane directly; the workflow only ever sees their names.
    for (const secret of checked.secrets ?? []) {
      if (secret.mesh === target.name) await onControlPlane(settings, () => cp.putSecret(secret));
    }
    const handle = await startRotation(temporal.client, { mesh: target.name, from: planned.plan.from, target, options, taskQueue: settings.taskQueue });
    const summary = { started: true, workflowId: handle.workflowId, runId: handle.firstExecutionRunId, mesh: target.name, from: planned.plan.from, to: planned.plan.to };
    if (flags.json) printJson(summary);
    else {
      process.stdout.write(`started the rotation of mesh "${target.name}": ${planned.plan.from} -> ${planned.plan.to} (workflow ${handle.workflowId})\n`);
      if (settings.temporalUiUrl) {
        process.stdout.write(`Temporal UI: ${settings.temporalUiUrl}/namespaces/${settings.namespace}/workflows/${encodeURIComponent(handle.workflowId)}\n`);
      }
      process.stdout.write(`follow it with: ca-rotate status --mesh ${target.name} --watch\n`);
      printIssues('warning', checked.warnings);
    }
    return EXIT_OK;
  } finally {
    await temporal.close();
  }
}
