/**
 * `ca-rotate control-plane [--db FILE] [--port 5681]`: runs the embedded control plane until
 * SIGINT/SIGTERM. Settings from the environment: CA_ROTATE_CP_TOKEN, VAULT_ADDR / VAULT_TOKEN; the
 * Temporal connection (address, namespace, TLS, API key) comes from the CLI's settings. Prints the URL and
 * where the token is, never the token.
 */
import type { TemporalTarget } from './ack-relay';
import { type ControlPlaneMode, DEFAULT_CONTROL_PLANE_PORT, startControlPlane, tokenFileFor } from './server';
import { errorMessage } from '../mesh/errors';

export interface ControlPlaneCommandOptions {
  db?: string;
  port?: number;
  host?: string;
  /** Print the token when the control plane generated it (the user asked to see it). */
  showToken?: boolean;
  publicMetrics?: boolean;
  /** Where the ack relay signals the rotation workflows. */
  temporal: TemporalTarget;
  /** Meshes and Secrets kept elsewhere (Kubernetes mode), with a line saying where. */
  mode?: { mode: ControlPlaneMode; describe(): string };
  /** Names (host names, addresses) clients reach the API by, for the generated certificate. */
  tlsNames?: string[];
  /** A certificate and key to serve instead of a generated one (and the CA clients should trust). */
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  /** Plain HTTP: only behind a TLS-terminating proxy. */
  noTls?: boolean;
}

export const DEFAULT_DB_FILE = 'ca-rotate-cp.db';

export async function runControlPlaneCommand(options: ControlPlaneCommandOptions): Promise<void> {
  const env = process.env;
  const dbFile = options.db ?? DEFAULT_DB_FILE;
  const log = (line: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  };
  const running = await startControlPlane({
    dbFile,
    port: options.port ?? DEFAULT_CONTROL_PLANE_PORT,
    host: options.host,
    token: env.CA_ROTATE_CP_TOKEN || undefined,
    temporal: options.temporal,
    publicMetrics: options.publicMetrics,
    vault: env.VAULT_ADDR || env.VAULT_TOKEN ? { address: env.VAULT_ADDR, token: env.VAULT_TOKEN } : undefined,
    logger: log,
    mode: options.mode?.mode,
    tls: options.noTls
      ? false
      : options.tlsCert && options.tlsKey
        ? { certFile: options.tlsCert, keyFile: options.tlsKey, caFile: options.tlsCa }
        : { generate: true, names: [...(options.tlsNames ?? []), ...(options.host && !['0.0.0.0', '::'].includes(options.host) ? [options.host] : [])] },
  });
  const where = options.mode ? `state files next to ${dbFile}; Meshes and Secrets held in memory` : `store ${dbFile}`;
  process.stdout.write(`control plane listening on ${running.url} (${where})\n`);
  if (running.tokenFile) {
    process.stdout.write(`API token in ${running.tokenFile} (use it as CA_ROTATE_CP_TOKEN)\n`);
    if (options.showToken && running.tokenGenerated) process.stdout.write(`API token: ${running.token}\n`);
  } else {
    process.stdout.write('API token from CA_ROTATE_CP_TOKEN\n');
  }
  if (running.caFile) process.stdout.write(`API certificate's CA in ${running.caFile} (use it as CA_ROTATE_CP_CA_FILE)\n`);
  if (options.mode) process.stdout.write(`${options.mode.describe()}\n`);
  else process.stdout.write(`relaying proxy acks to Temporal at ${options.temporal.address}\n`);

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      log(`${signal}: stopping the control plane`);
      running.stop().then(resolve, (err: unknown) => {
        log(`error while stopping: ${errorMessage(err)}`);
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export { tokenFileFor };
