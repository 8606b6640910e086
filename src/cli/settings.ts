/**
 * Connection settings from the environment, overridden by flags, validated once. The token settings
 * are secrets: they are never printed.
 */
import { z } from 'zod';
import { parseDuration } from '../mesh/duration';
import { ROTATION_TASK_QUEUE } from '../workflows/messages';

const SettingsSchema = z.object({
  temporalAddress: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port, e.g. localhost:7233'),
  namespace: z.string().min(1),
  controlPlaneUrl: z.url({ message: 'must be a URL such as http://127.0.0.1:5681' }),
  controlPlaneToken: z.string().optional(),
  controlPlaneCaFile: z.string().min(1).optional(),
  controlPlaneClientCert: z.string().min(1).optional(),
  controlPlaneClientKey: z.string().min(1).optional(),
  /** The settle rule's wait (src/activities/proxy-insights.ts); default by control plane. */
  insightSettleMs: z.number().int().nonnegative().optional(),
  vaultAddress: z.url().optional(),
  vaultToken: z.string().optional(),
  temporalUiUrl: z.url().optional(),
  /** CA_ROTATE_TASK_QUEUE: lets several stacks share one Temporal server (tests); users keep the default. */
  taskQueue: z.string().min(1),
});
export type Settings = z.infer<typeof SettingsSchema>;

export interface ConnectionFlags {
  temporalAddress?: string;
  namespace?: string;
  cpUrl?: string;
  temporalUi?: string;
}

export class SettingsError extends Error {}

export function loadSettings(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Settings {
  const candidate = {
    temporalAddress: flags.temporalAddress ?? env.TEMPORAL_ADDRESS ?? 'localhost:7233',
    namespace: flags.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    controlPlaneUrl: flags.cpUrl ?? env.CA_ROTATE_CP_URL ?? 'http://127.0.0.1:5681',
    controlPlaneToken: env.CA_ROTATE_CP_TOKEN || undefined,
    controlPlaneCaFile: env.CA_ROTATE_CP_CA_FILE || undefined,
    controlPlaneClientCert: env.CA_ROTATE_CP_CLIENT_CERT || undefined,
    controlPlaneClientKey: env.CA_ROTATE_CP_CLIENT_KEY || undefined,
    insightSettleMs: env.CA_ROTATE_INSIGHT_SETTLE ? (parseDuration(env.CA_ROTATE_INSIGHT_SETTLE) ?? Number.NaN) : undefined,
    vaultAddress: env.VAULT_ADDR || undefined,
    vaultToken: env.VAULT_TOKEN || undefined,
    temporalUiUrl: flags.temporalUi ?? (env.TEMPORAL_UI_URL || undefined),
    taskQueue: env.CA_ROTATE_TASK_QUEUE || ROTATION_TASK_QUEUE,
  };
  const parsed = SettingsSchema.safeParse(candidate);
  if (!parsed.success) {
    const names: Record<string, string> = {
      temporalAddress: 'TEMPORAL_ADDRESS / --temporal-address',
      namespace: 'TEMPORAL_NAMESPACE / --namespace',
      controlPlaneUrl: 'CA_ROTATE_CP_URL / --cp-url',
      controlPlaneCaFile: 'CA_ROTATE_CP_CA_FILE',
      controlPlaneClientCert: 'CA_ROTATE_CP_CLIENT_CERT',
      controlPlaneClientKey: 'CA_ROTATE_CP_CLIENT_KEY',
      insightSettleMs: 'CA_ROTATE_INSIGHT_SETTLE (a duration such as 15s, or 0)',
      vaultAddress: 'VAULT_ADDR',
      temporalUiUrl: 'TEMPORAL_UI_URL / --temporal-ui',
    };
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? '');
    throw new SettingsError(`${names[field] ?? field}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
