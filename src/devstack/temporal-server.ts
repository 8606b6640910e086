/**
 * The Temporal server itself (not the dev server) on PostgreSQL: the topology of users who outgrow one
 * machine. Its databases are created and migrated by Temporal's own schema tool (postgres12 plugin,
 * main and visibility schemas), its config file is written here with every port free and on loopback,
 * and the namespace and the rotation's search attributes are registered through the APIs an operator
 * would use. The production-topology test and drills start it here.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection, type TLSConfig } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { waitUntil } from './ports';
import { spawnServer, type ManagedProcess } from './process';
import { SEARCH_ATTRIBUTES } from './temporal';

const run = promisify(execFile);

export interface PostgresAccess {
  host: string;
  port: number;
  user: string;
  password?: string;
}

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
}

/** PostgreSQL for the test: CA_ROTATE_TEST_POSTGRES (host:port, default 127.0.0.1:5432), user postgres, trust auth. */
export function postgresFromEnv(env: NodeJS.ProcessEnv = process.env): PostgresAccess {
  const [host, port] = (env.CA_ROTATE_TEST_POSTGRES || '127.0.0.1:5432').split(':');
  return { host: host || '127.0.0.1', port: Number(port || 5432), user: env.CA_ROTATE_TEST_POSTGRES_USER || 'postgres', password: env.CA_ROTATE_TEST_POSTGRES_PASSWORD || undefined };
}

/** Where scripts/provide-binaries.sh puts `temporal-server` and `temporal-sql-tool` (or the env overrides). */
export function temporalServerBinaries(env: NodeJS.ProcessEnv = process.env): TemporalServerBinaries {
  const cache = env.MESH_CA_ROTATOR_CACHE || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mesh-ca-rotator');
  return {
    server: env.TEMPORAL_SERVER_PATH || path.join(cache, 'bin', 'temporal-server'),
    sqlTool: env.TEMPORAL_SQL_TOOL_PATH || path.join(cache, 'bin', 'temporal-sql-tool'),
  };
}

/** Why the Temporal server on PostgreSQL cannot run here (one line), or undefined when it can. */
export function temporalServerMissing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const binaries = temporalServerBinaries(env);
  for (const [what, file, variable] of [['temporal-server', binaries.server, 'TEMPORAL_SERVER_PATH'], ['temporal-sql-tool', binaries.sqlTool, 'TEMPORAL_SQL_TOOL_PATH']] as const) {
    if (!isExecutable(file)) return `${what} not found at ${file}: run \`bash scripts/provide-binaries.sh temporal-server\` (or set ${variable})`;
  }
  const pg = postgresFromEnv(env);
  // Synchronous, because test files decide at load time whether a suite runs.
  const probe = spawnSync(
    process.execPath,
    ['-e', `const s=require('net').connect(${pg.port},${JSON.stringify(pg.host)});s.setTimeout(3000,()=>process.exit(1));s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));`],
    { timeout: 10_000 },
  );
  if (probe.status !== 0) return `no PostgreSQL reachable at ${pg.host}:${pg.port} (set CA_ROTATE_TEST_POSTGRES=host:port)`;
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface TemporalDatabases {
  main: string;
  visibility: string;
  drop(): Promise<void>;
}

/** Creates two fresh databases and sets up the main and visibility schemas with Temporal's schema tool. */
export async function createTemporalDatabases(sqlTool: string, pg: PostgresAccess, prefix = `temporal_${randomBytes(4).toString('hex')}`): Promise<TemporalDatabases> {
  const tool = (database: string, ...args: string[]) =>
    run(sqlTool, ['--plugin', 'postgres12', '--ep', pg.host, '--port', String(pg.port), '--user', pg.user, ...(pg.password ? ['--password', pg.password] : []), '--db', database, ...args], {
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  const databases = { main: prefix, visibility: `${prefix}_visibility` };
  for (const [database, schema] of [[databases.main, 'postgresql/v12/temporal'], [databases.visibility, 'postgresql/v12/visibility']] as const) {
    await tool(database, 'create-database');
    await tool(database, 'setup-schema', '--version', '0.0');
    await tool(database, 'update-schema', '--schema-name', schema);
  }
  return {
    ...databases,
    async drop() {
      for (const database of [databases.visibility, databases.main]) await tool(database, 'drop-database', '--force').catch(() => undefined);
    },
  };
}

/**
 * A free loopback port below 32768: the server records membership ports in a PostgreSQL `smallint`
 * (`cluster_membership.rpc_port`), so the kernel's ephemeral ports (32768 and up) make it fail at start.
 */
async function freeLowPort(taken: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port found between 20000 and 32000');
}

/** TLS on the frontend (files in PEM). With `requireClientAuth`, clients need a certificate from `caFile` (mTLS). */
export interface FrontendTls {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  requireClientAuth: boolean;
  /** The name in the server certificate, for the server's own system worker. */
  serverName: string;
  /** The system worker's client certificate (needed with `requireClientAuth`). */
  systemWorkerCertFile?: string;
  systemWorkerKeyFile?: string;
}

export interface TemporalServerConfig {
  dir: string;
  /** Frontend gRPC address, host:port. */
  address: string;
  /** How a client connects (TLS settings when the frontend has TLS). */
  tls?: TLSConfig;
}

/** Writes `config/<env>.yaml` and a dynamic config file under `dir`, every port free and on 127.0.0.1. */
export async function writeTemporalServerConfig(
  dir: string,
  pg: PostgresAccess,
  databases: Pick<TemporalDatabases, 'main' | 'visibility'>,
  frontendTls?: FrontendTls,
): Promise<TemporalServerConfig> {
  const ports: Record<string, number> = {};
  for (const name of ['frontend', 'frontendMembership', 'frontendHttp', 'history', 'historyMembership', 'matching', 'matchingMembership', 'worker', 'workerMembership']) {
    ports[name] = await freeLowPort(new Set(Object.values(ports)));
  }
  const sqlStore = (database: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${pg.host}:${pg.port}`,
      connectProtocol: 'tcp',
      user: pg.user,
      password: pg.password ?? '',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (grpc: string, membership: string, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort: ports[grpc], membershipPort: ports[membership], bindOnIP: '127.0.0.1', ...extra },
  });
  const address = `127.0.0.1:${ports.frontend}`;
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      // Few shards: one small machine; production sizes this to its load (it cannot change later).
      numHistoryShards: 4,
      datastores: { 'postgres-default': sqlStore(databases.main, 20), 'postgres-visibility': sqlStore(databases.visibility, 4) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      ...(frontendTls ? { tls: tlsSection(frontendTls) } : {}),
    },
    services: {
      frontend: service('frontend', 'frontendMembership', { httpPort: ports.frontendHttp }),
      history: service('history', 'historyMembership'),
      matching: service('matching', 'matchingMembership'),
      worker: service('worker', 'workerMembership'),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: address } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: path.join(dir, 'config', 'dynamic.yaml'), pollInterval: '10s' },
  };
  fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
  // JSON is YAML: no YAML writer needed for a file nobody edits by hand.
  fs.writeFileSync(path.join(dir, 'config', 'test.yaml'), JSON.stringify(config, null, 2));
  fs.writeFileSync(
    path.join(dir, 'config', 'dynamic.yaml'),
    JSON.stringify({
      // Search attributes registered a moment ago are usable at once (as on the dev server).
      'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true }],
    }),
  );
  return { dir, address, ...(frontendTls ? { tls: { serverRootCACertificate: fs.readFileSync(frontendTls.caFile), serverNameOverride: frontendTls.serverName } } : {}) };
}

function tlsSection(tls: FrontendTls): Record<string, unknown> {
  const client = { serverName: tls.serverName, rootCaFiles: [tls.caFile] };
  return {
    frontend: {
      server: { certFile: tls.serverCertFile, keyFile: tls.serverKeyFile, requireClientAuth: tls.requireClientAuth, clientCaFiles: [tls.caFile] },
      client,
    },
    // The server's own system worker is a frontend client like any other.
    systemWorker: { certFile: tls.systemWorkerCertFile ?? '', keyFile: tls.systemWorkerKeyFile ?? '', client: { ...client, forceTLS: true } },
  };
}

export interface TemporalServer {
  readonly address: string;
  readonly namespace: string;
  readonly logFile: string;
  process: ManagedProcess;
  /** Starts the server again on the same config and databases (after a stop or `kill -9`). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function lastFatal(logFile: string): string {
  const lines = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n') : [];
  const fatal = lines.reverse().find((line) => line.includes('"level":"fatal"'));
  if (!fatal) return 'no fatal error logged';
  try {
    const entry = JSON.parse(fatal) as { msg?: string; error?: string };
    return `${entry.msg ?? ''}: ${entry.error ?? ''}`;
  } catch {
    return fatal.slice(0, 300);
  }
}

/** Starts `temporal-server start` on a written config and waits until its frontend answers. */
export async function startTemporalServer(options: {
  binary: string;
  config: TemporalServerConfig;
  /** For a frontend that requires client certificates: the probe's TLS settings, with one. */
  clientTls?: TLSConfig;
  logFile?: string;
  startTimeoutMs?: number;
}): Promise<TemporalServer> {
  const logFile = options.logFile ?? path.join(options.config.dir, 'temporal-server.log');
  const launch = async (): Promise<ManagedProcess> => {
    const proc = spawnServer(options.binary, ['--root', options.config.dir, '--config', 'config', '--env', 'test', '--allow-no-auth', 'start'], logFile);
    // A server that dies while starting (bad config, database) fails the start at once, saying why.
    const exited = new Promise<never>((_resolve, reject) =>
      proc.child.once('exit', (code, signal) => reject(new Error(`Temporal server exited (${code ?? signal}) while starting: ${lastFatal(logFile)} (log: ${logFile})`))),
    );
    exited.catch(() => undefined);
    try {
      await Promise.race([exited, waitUntil(
        `Temporal server (log: ${logFile})`,
        async () => {
          const connection = await Connection.connect({ address: options.config.address, tls: options.clientTls ?? options.config.tls, connectTimeout: 1000 });
          try {
            await connection.workflowService.getSystemInfo({});
            return true;
          } finally {
            await connection.close();
          }
        },
        options.startTimeoutMs ?? 180_000,
        500,
      )]);
    } catch (err) {
      await proc.stop();
      throw err;
    }
    return proc;
  };
  const server: TemporalServer = {
    address: options.config.address,
    namespace: 'default',
    logFile,
    process: await launch(),
    async restart() {
      await server.process.stop();
      server.process = await launch();
    },
    stop: () => server.process.stop(),
  };
  return server;
}

/**
 * Registers `namespace` and the rotation's search attributes (operator API, as
 * `temporal operator namespace create` and `temporal operator search-attribute create` do), then waits
 * until a workflow could start there.
 */
export async function prepareNamespace(address: string, namespace: string, tls?: TLSConfig, timeoutMs = 120_000): Promise<void> {
  const connection = await Connection.connect({ address, tls });
  try {
    await waitUntil(
      `namespace ${namespace} on ${address}`,
      async () => {
        try {
          await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
        } catch (err) {
          if (!/already exists|AlreadyExists/i.test(String(err))) throw err;
        }
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      },
      timeoutMs,
      1000,
    );
    const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    await waitUntil(
      `search attributes ${Object.keys(SEARCH_ATTRIBUTES).join(', ')} in ${namespace}`,
      async () => {
        const listed = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => !(name in (listed.customAttributes ?? {})));
        if (missing.length === 0) return true;
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((name) => [name, keyword])) });
        return false;
      },
      timeoutMs,
      1000,
    );
  } finally {
    await connection.close();
  }
}
