/**
 * Connection settings from the environment, overridden by flags, validated once. The token and API
 * key settings are secrets: they are never printed. The Temporal variables are the ones Temporal's own
 * CLI and SDKs read (`TEMPORAL_TLS_*`, `TEMPORAL_API_KEY`), so one environment serves both.
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { z } from 'zod';
import { parseDuration } from '../mesh/duration';
import { ROTATION_TASK_QUEUE } from '../workflows/messages';

const HOST_PORT = /^[^\s:]+:\d+$/;

const TemporalTlsSchema = z
  .object({
    serverCaCertPath: z.string().min(1).optional(),
    clientCertPath: z.string().min(1).optional(),
    clientKeyPath: z.string().min(1).optional(),
    serverName: z.string().min(1).optional(),
  })
  .refine((tls) => (tls.clientCertPath === undefined) === (tls.clientKeyPath === undefined), {
    message: 'a client certificate needs its key, and a key its certificate (set both for mTLS)',
    path: ['clientCertPath'],
  });

const SettingsSchema = z.object({
  temporalAddress: z.string().regex(HOST_PORT, 'must be host:port, e.g. localhost:7233'),
  namespace: z.string().min(1),
  /** TLS to the Temporal frontend; undefined: plaintext. */
  temporalTls: TemporalTlsSchema.optional(),
  temporalApiKey: z.string().optional(),
  controlPlaneUrl: z.url({ message: 'must be a URL such as http://127.0.0.1:5681' }),
  controlPlaneToken: z.string().optional(),
  controlPlaneCaFile: z.string().min(1).optional(),
  controlPlaneClientCert: z.string().min(1).optional(),
  controlPlaneClientKey: z.string().min(1).optional(),
  /** The settle rule's wait (src/mesh/settle.ts); default by control plane. */
  insightSettleMs: z.number().int().nonnegative().optional(),
  vaultAddress: z.url().optional(),
  vaultToken: z.string().optional(),
  temporalUiUrl: z.url().optional(),
  /** CA_ROTATE_TASK_QUEUE: lets several stacks share one Temporal server (tests); users keep the default. */
  taskQueue: z.string().min(1),
  /** `worker`: where Prometheus scrapes the SDK's and the rotation's metrics; undefined: not exported. */
  metricsAddress: z.string().regex(HOST_PORT, 'must be host:port, e.g. 0.0.0.0:9464').optional(),
  /** Kubernetes mode: the Mesh and its Secrets are read and written through this API server. */
  kubernetes: z
    .object({ kubeconfig: z.string().min(1).optional(), context: z.string().min(1).optional(), namespace: z.string().min(1).optional() })
    .optional(),
});
export type Settings = z.infer<typeof SettingsSchema>;
export type TemporalTlsSettings = z.infer<typeof TemporalTlsSchema>;

export interface ConnectionFlags {
  temporalAddress?: string;
  namespace?: string;
  cpUrl?: string;
  temporalUi?: string;
  /** --tls / --no-tls */
  tls?: boolean;
  tlsCaPath?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsServerName?: string;
  apiKey?: string;
  metricsAddress?: string;
  kubernetes?: boolean;
  kubeconfig?: string;
  context?: string;
  kubeNamespace?: string;
}

export class SettingsError extends Error {}

const SETTING_NAMES: Record<string, string> = {
  temporalAddress: 'TEMPORAL_ADDRESS / --temporal-address',
  namespace: 'TEMPORAL_NAMESPACE / --namespace',
  'temporalTls.serverCaCertPath': 'TEMPORAL_TLS_SERVER_CA_CERT_PATH / --tls-ca-path',
  'temporalTls.clientCertPath': 'TEMPORAL_TLS_CLIENT_CERT_PATH / --tls-cert-path',
  'temporalTls.clientKeyPath': 'TEMPORAL_TLS_CLIENT_KEY_PATH / --tls-key-path',
  'temporalTls.serverName': 'TEMPORAL_TLS_SERVER_NAME / --tls-server-name',
  temporalTls: 'TEMPORAL_TLS / --tls',
  controlPlaneUrl: 'CA_ROTATE_CP_URL / --cp-url',
  controlPlaneCaFile: 'CA_ROTATE_CP_CA_FILE',
  controlPlaneClientCert: 'CA_ROTATE_CP_CLIENT_CERT',
  controlPlaneClientKey: 'CA_ROTATE_CP_CLIENT_KEY',
  insightSettleMs: 'CA_ROTATE_INSIGHT_SETTLE (a duration such as 15s, or 0)',
  vaultAddress: 'VAULT_ADDR',
  temporalUiUrl: 'TEMPORAL_UI_URL / --temporal-ui',
  metricsAddress: 'CA_ROTATE_METRICS_ADDRESS / --metrics-address',
};

function parseTlsSwitch(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw new SettingsError(`TEMPORAL_TLS / --tls: must be true or false, got "${value}"`);
}

/**
 * TLS is on when asked for, or when any TLS file, a server name or an API key is given (as in
 * Temporal's CLI); `TEMPORAL_TLS=false` turns it off, and then TLS files are a contradiction.
 */
function temporalTlsFrom(flags: ConnectionFlags, env: NodeJS.ProcessEnv, apiKey: string | undefined): TemporalTlsSettings | undefined {
  const files = {
    serverCaCertPath: flags.tlsCaPath ?? (env.TEMPORAL_TLS_SERVER_CA_CERT_PATH || undefined),
    clientCertPath: flags.tlsCertPath ?? (env.TEMPORAL_TLS_CLIENT_CERT_PATH || undefined),
    clientKeyPath: flags.tlsKeyPath ?? (env.TEMPORAL_TLS_CLIENT_KEY_PATH || undefined),
    serverName: flags.tlsServerName ?? (env.TEMPORAL_TLS_SERVER_NAME || undefined),
  };
  const anyTlsOption = Object.values(files).some((v) => v !== undefined);
  const requested = flags.tls ?? parseTlsSwitch(env.TEMPORAL_TLS);
  if (requested === false) {
    if (anyTlsOption) throw new SettingsError('TEMPORAL_TLS / --tls: is false, but TLS files or a server name are set (remove them or turn TLS on)');
    return undefined;
  }
  if (requested === true || anyTlsOption || apiKey !== undefined) return files;
  return undefined;
}

/** CA_ROTATE_CP_TOKEN_FILE: a credential kept in a file (e.g. minted by `ca-rotate token --out`). */
function readTokenFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new SettingsError(`CA_ROTATE_CP_TOKEN_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

export function loadSettings(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Settings {
  const temporalApiKey = flags.apiKey ?? (env.TEMPORAL_API_KEY || undefined);
  const candidate = {
    temporalAddress: flags.temporalAddress ?? env.TEMPORAL_ADDRESS ?? 'localhost:7233',
    namespace: flags.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    temporalTls: temporalTlsFrom(flags, env, temporalApiKey),
    temporalApiKey,
    controlPlaneUrl: flags.cpUrl ?? env.CA_ROTATE_CP_URL ?? 'http://127.0.0.1:5681',
    controlPlaneToken: env.CA_ROTATE_CP_TOKEN || (env.CA_ROTATE_CP_TOKEN_FILE ? readTokenFile(env.CA_ROTATE_CP_TOKEN_FILE) : undefined),
    controlPlaneCaFile: env.CA_ROTATE_CP_CA_FILE || undefined,
    controlPlaneClientCert: env.CA_ROTATE_CP_CLIENT_CERT || undefined,
    controlPlaneClientKey: env.CA_ROTATE_CP_CLIENT_KEY || undefined,
    insightSettleMs: env.CA_ROTATE_INSIGHT_SETTLE ? (parseDuration(env.CA_ROTATE_INSIGHT_SETTLE) ?? Number.NaN) : undefined,
    vaultAddress: env.VAULT_ADDR || undefined,
    vaultToken: env.VAULT_TOKEN || undefined,
    temporalUiUrl: flags.temporalUi ?? (env.TEMPORAL_UI_URL || undefined),
    taskQueue: env.CA_ROTATE_TASK_QUEUE || ROTATION_TASK_QUEUE,
    metricsAddress: flags.metricsAddress ?? (env.CA_ROTATE_METRICS_ADDRESS || undefined),
    kubernetes:
      flags.kubernetes || flags.kubeconfig || flags.context
        ? { kubeconfig: flags.kubeconfig, context: flags.context, namespace: flags.kubeNamespace ?? (env.CA_ROTATE_KUBE_NAMESPACE || undefined) }
        : undefined,
  };
  const parsed = SettingsSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = (issue?.path ?? []).map(String).join('.');
    throw new SettingsError(`${SETTING_NAMES[field] ?? field}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** What `Connection.connect` (client) and `NativeConnection.connect` (worker) take, besides the namespace. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

/** Reads the TLS files the settings name; a missing or non-PEM file is a SettingsError naming the variable. */
export function temporalConnectionOptions(settings: Pick<Settings, 'temporalAddress' | 'temporalTls' | 'temporalApiKey'>): TemporalConnectionOptions {
  const tls = settings.temporalTls;
  const pem = (field: keyof TemporalTlsSettings, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch (err) {
      throw new SettingsError(`${SETTING_NAMES[`temporalTls.${field}`]}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    if (!content.toString('utf8').includes('-----BEGIN ')) throw new SettingsError(`${SETTING_NAMES[`temporalTls.${field}`]}: ${file} is not PEM`);
    return content;
  };
  let tlsConfig: TLSConfig | undefined;
  if (tls) {
    const ca = pem('serverCaCertPath', tls.serverCaCertPath);
    const crt = pem('clientCertPath', tls.clientCertPath);
    const key = pem('clientKeyPath', tls.clientKeyPath);
    tlsConfig = {
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(crt && key ? { clientCertPair: { crt, key } } : {}),
      ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    };
  }
  return {
    address: settings.temporalAddress,
    // `false` explicitly: the SDK would otherwise turn TLS on by itself when an API key is set.
    tls: tlsConfig ?? false,
    ...(settings.temporalApiKey ? { apiKey: settings.temporalApiKey } : {}),
  };
}
