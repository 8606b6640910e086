import { Connection } from '@temporalio/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitUntil } from './ports';
import { ManagedProcess, spawnServer } from './process';

/** Search attributes the rotation workflow sets; the dev server registers them at start. */
export const SEARCH_ATTRIBUTES = { MeshName: 'Keyword', RotationStep: 'Keyword' } as const;

export interface TemporalDevServer {
  /** gRPC address, host:port. */
  readonly address: string;
  readonly namespace: string;
  /** Web UI base URL. */
  readonly uiUrl: string;
  readonly dbFile: string;
  readonly logFile: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  binary: string;
  /** SQLite file; reuse one to restart a server with its state. Default: a new temp file. */
  dbFile?: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
  logFile?: string;
  startTimeoutMs?: number;
}

/**
 * Starts `temporal server start-dev` ourselves rather than through TestWorkflowEnvironment.createLocal,
 * which gives a server only 5 s to come up: a cold start on two busy cores can take longer.
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-dev-'));
  const dbFile = options.dbFile ?? path.join(workDir, 'temporal.db');
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const namespace = options.namespace ?? 'default';
  const logFile = options.logFile ?? path.join(workDir, 'temporal.log');
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--ui-port', String(uiPort),
    // Fixed defaults would collide when tests and a demo run side by side.
    '--http-port', String(await freePort()),
    '--metrics-port', String(await freePort()),
    '--db-filename', dbFile,
    '--namespace', namespace,
    '--log-level', 'warn',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ];
  const proc = spawnServer(options.binary, args, logFile);
  const address = `127.0.0.1:${port}`;
  try {
    await waitUntil(
      `Temporal dev server (log: ${logFile})`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`exited with code ${proc.child.exitCode}`);
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await connection.workflowService.describeNamespace({ namespace });
          return true;
        } finally {
          await connection.close();
        }
      },
      options.startTimeoutMs ?? 60_000,
      250,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    address,
    namespace,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    dbFile,
    logFile,
    process: proc,
    stop: () => proc.stop(),
  };
}

/**
 * A Temporal dev server: ours from `binary` when there is one, else the one the Temporal SDK downloads
 * (a laptop with internet and no Go). Same search attributes and Web UI either way.
 */
export async function startTemporal(options: Omit<TemporalDevServerOptions, 'binary'> & { binary?: string }): Promise<TemporalDevServer> {
  if (options.binary) return startTemporalDevServer({ ...options, binary: options.binary });
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const { defineSearchAttributeKey, SearchAttributeType } = await import('@temporalio/common');
  const uiPort = options.uiPort ?? (await freePort());
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port: options.port,
      namespace: options.namespace,
      dbFilename: options.dbFile,
      ui: true,
      uiPort,
      searchAttributes: Object.keys(SEARCH_ATTRIBUTES).map((name) => defineSearchAttributeKey(name, SearchAttributeType.KEYWORD)),
    },
  });
  const stop = () => env.teardown();
  return {
    address: env.address,
    namespace: options.namespace ?? 'default',
    uiUrl: `http://127.0.0.1:${uiPort}`,
    dbFile: options.dbFile ?? '',
    logFile: '',
    process: { child: undefined as never, stop, kill9: stop },
    stop,
  };
}
