/**
 * `startControlPlane`: the embedded control plane in one call — store, REST API, delivery streams,
 * certificate issuance and the ack relay. The CLI, the tests and the demo all start it here.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as caRegistry from '../ca/registry';
import { AckRelay, type ProxyChangeSink, type TemporalTarget } from './ack-relay';
import { type ApiTlsOption, loadApiTls } from './api-tls';
import { AckRecorder } from './acks';
import { CaAccess, type CaRegistry } from './ca-access';
import { Delivery } from './delivery';
import { CertificateIssuance } from './issuance';
import { MeshWriter } from './mesh-writes';
import { CONTROL_PLANE_EXTRAS } from './api-schemas';
import { ControlPlaneMetrics, type ProxyCount } from './metrics';
import { controlPlaneIndex, handleRequest } from './routes';
import { TokenAuthority, loadOrCreateSigningKey } from './credentials';
import { readPrivateFile, writePrivateFileExclusive } from './private-files';
import { SECRET_KEY_BYTES, SecretCipher, StoreKeyError, loadSecretKey } from './secret-crypto';
import { ControlPlaneStore } from './store';
import { type StoreLock, lockStore } from './store-lock';

export interface ControlPlaneOptions {
  dbFile: string;
  /** 0 picks a free port. Default 5681, Kuma's API port. */
  port?: number;
  host?: string;
  /** Bearer token; default: the token file next to the db (created on first start). */
  token?: string;
  /** 32-byte key for secrets at rest; default: CA_ROTATE_SECRET_KEY or the key file next to the db. */
  secretKey?: Buffer;
  temporal?: TemporalTarget;
  vault?: { address?: string; token?: string };
  logger?: (line: string) => void;
  /** `GET /metrics` without a token (for a scraper on a trusted network); default: the API token is required. */
  publicMetrics?: boolean;
  /** The CA backends; default: the project's registry (builtin, provided, vault). */
  caRegistry?: CaRegistry;
  /** TLS on the API; default: a certificate generated on first start next to the store. */
  tls?: ApiTlsOption;
  /** Resources kept elsewhere, as on Kubernetes; default: the store is the source of truth. */
  mode?: ControlPlaneMode;
  /** A request (headers and body) must arrive within this. Default 30 s. */
  requestTimeoutMs?: number;
  /** Open connections at most (each proxy host holds one stream). Default 4096. */
  maxConnections?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_CONNECTIONS = 4_096;

/** The control plane's working parts, for a mode that feeds them from outside. */
export interface ControlPlaneParts {
  store: ControlPlaneStore;
  ca: CaAccess;
  delivery: Delivery;
  issuance: CertificateIssuance;
  meshes: MeshWriter;
  log: (line: string) => void;
}

/**
 * A control plane whose Meshes and Secrets live elsewhere (Kubernetes mode): it says where proxy
 * changes go instead of the ack relay, and runs beside the API from start to stop. Its store is held
 * in memory only, filled by `start` on every start; the REST API refuses writes of Meshes and Secrets.
 */
export interface ControlPlaneMode {
  proxyChanges(store: ControlPlaneStore): ProxyChangeSink;
  /**
   * Stores a Secret a CA backend generates (builtin's CA) where the mode keeps Secrets, so that it
   * outlives this process. Creates it only if absent; returns what is stored afterwards (first writer wins).
   */
  putSecretIfAbsent(mesh: string, name: string, data: Buffer): Promise<Buffer>;
  start(parts: ControlPlaneParts): Promise<void>;
  stop(): Promise<void>;
}

export interface RunningControlPlane {
  url: string;
  token: string;
  /** Where the token lives when it came from the token file (undefined when given explicitly). */
  tokenFile: string | undefined;
  /** True when this start generated the token (first start without a token). */
  tokenGenerated: boolean;
  /** The CA a client must trust for the API's certificate (undefined on plain HTTP or an unknown CA). */
  caPem: string | undefined;
  caFile: string | undefined;
  stop(): Promise<void>;
}

export const DEFAULT_CONTROL_PLANE_PORT = 5681;
const CONTROL_PLANE_VERSION = '0.1.0';

export function tokenFileFor(dbFile: string): string {
  return `${dbFile}.token`;
}

export function keyFileFor(dbFile: string): string {
  return `${dbFile}.key`;
}

export function signingKeyFileFor(dbFile: string): string {
  return `${dbFile}.signing-key`;
}

export function revokedTokensFileFor(dbFile: string): string {
  return `${dbFile}.revoked-tokens`;
}

/** Reads the admin token file next to the store, creating it (mode 0600, never through a link) on first start. */
export function loadOrCreateToken(dbFile: string): { token: string; created: boolean } {
  const file = tokenFileFor(dbFile);
  const existing = readPrivateFile(file)?.trim();
  if (existing) return { token: existing, created: false };
  if (existing !== undefined) throw new StoreKeyError(`the token file ${file} is empty: delete it to have a new admin token generated`);
  const token = randomBytes(24).toString('base64url');
  writePrivateFileExclusive(file, `${token}\n`);
  return { token, created: true };
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const log = options.logger ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dbFile = path.resolve(options.dbFile);
  mkdirSync(path.dirname(dbFile), { recursive: true, mode: 0o700 });
  // Before anything of the store is read or written: a second control plane on it refuses to start.
  const lock = lockStore(dbFile);
  try {
    return await startOnLockedStore(options, dbFile, lock, log);
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function startOnLockedStore(options: ControlPlaneOptions, dbFile: string, lock: StoreLock, log: (line: string) => void): Promise<RunningControlPlane> {
  const mode = options.mode;
  const fromFile = options.token === undefined ? loadOrCreateToken(dbFile) : undefined;
  const token = options.token ?? (fromFile as { token: string }).token;
  const tokenFile = options.token === undefined ? tokenFileFor(dbFile) : undefined;

  const store = mode ? memoryStore(dbFile, log) : new ControlPlaneStore({ file: dbFile }, new SecretCipher(loadStoreKey(options, dbFile)));
  store.dataplanes.markAllOffline(new Date().toISOString());
  const ca = new CaAccess(store, options.caRegistry ?? caRegistry, options.vault, mode && ((mesh, name, data) => mode.putSecretIfAbsent(mesh, name, data)));
  const relay = mode?.proxyChanges(store) ?? new AckRelay(options.temporal, log, (mesh) => store.dataplanes.onlineStatesConverged(mesh));
  const delivery = new Delivery(store, ca, ({ rows, seqs }) => relay.proxiesChanged(rows, seqs), log);
  const metrics = new ControlPlaneMetrics(() => proxyCounts(store));
  const issuance = new CertificateIssuance(store, ca, delivery, log, (observation) => metrics.issuance(observation));
  const authority = new TokenAuthority(loadOrCreateSigningKey(signingKeyFileFor(dbFile)), token, revokedTokensFileFor(dbFile));
  // Acks are pushed to the workflow only when the relay can reach Temporal; otherwise the worker's watcher polls.
  const extras = [CONTROL_PLANE_EXTRAS.meshVersions, CONTROL_PLANE_EXTRAS.reissue, ...(options.temporal ? [CONTROL_PLANE_EXTRAS.pushedAcks] : [])];
  const index = controlPlaneIndex({ version: CONTROL_PLANE_VERSION, extras, instanceId: `mesh-ca-rotator-${randomBytes(3).toString('hex')}` });
  const meshes = new MeshWriter(store, ca);
  const publicMetrics = options.publicMetrics ?? false;
  const deps = { store, ca, delivery, issuance, acks: new AckRecorder(store, ca), relay, meshes, index, authority, log, metrics, publicMetrics, resourcesReadOnly: mode !== undefined };

  const tlsOption = options.tls ?? { generate: true as const, names: options.host && !['0.0.0.0', '::'].includes(options.host) ? [options.host] : [] };
  const tls = tlsOption === false ? undefined : await loadApiTls(dbFile, tlsOption);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    metrics.observe(req, res);
    void handleRequest(deps, req, res);
  };
  // Receiving a whole request (headers and body) must end in time: a client trickling bytes cannot
  // hold a connection. It bounds only the request: a delivery stream's long response is not cut.
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // How often Node looks for requests past their timeout (its default, 30 s, would let one overstay that long).
  const timing = { requestTimeout, headersTimeout: Math.min(requestTimeout, DEFAULT_REQUEST_TIMEOUT_MS), connectionsCheckingInterval: Math.max(250, Math.min(5_000, requestTimeout / 4)) };
  const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ...timing }, handler) : createServer(timing, handler);
  server.keepAliveTimeout = 65_000;
  // Beyond this many open connections new ones are dropped at once; those open keep being served.
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? DEFAULT_CONTROL_PLANE_PORT, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    issuance.stop();
    delivery.close();
    await relay.stop();
    await ca.close();
    store.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls ? 'https' : 'http'}://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  lock.announce(url);
  // Proxies left over from the last run get their certificates checked right away.
  for (const stored of store.meshes.list()) issuance.kick(stored.mesh.name);
  try {
    await mode?.start({ store, ca, delivery, issuance, meshes, log });
  } catch (err) {
    server.close();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    url,
    token,
    tokenFile,
    tokenGenerated: fromFile?.created ?? false,
    caPem: tls?.caPem,
    caFile: tls?.caFile,
    stop() {
      stopping ??= (async () => {
        await mode?.stop();
        issuance.stop();
        delivery.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await issuance.drain();
        await relay.stop();
        await ca.close();
        store.close();
        lock.release();
      })();
      return stopping;
    },
  };
}

function loadStoreKey(options: ControlPlaneOptions, dbFile: string): Buffer {
  return loadSecretKey({ explicit: options.secretKey, env: process.env.CA_ROTATE_SECRET_KEY, keyFile: keyFileFor(dbFile), storeExists: existsSync(dbFile) });
}

/**
 * The store of a control plane whose Meshes and Secrets live elsewhere: in memory only, rebuilt from
 * their source on every start, so no copy of them is left on disk. Its key lives as long as the process.
 */
function memoryStore(dbFile: string, log: (line: string) => void): ControlPlaneStore {
  if (existsSync(dbFile)) log(`${dbFile} is not used in this mode (Meshes and Secrets are held in memory only): delete it if an earlier version left it`);
  return new ControlPlaneStore({ memory: true }, new SecretCipher(randomBytes(SECRET_KEY_BYTES)));
}

/** One aggregate query per mesh: a scrape never reads every proxy row. */
function proxyCounts(store: ControlPlaneStore): ProxyCount[] {
  return store.meshes.list().map(({ mesh }) => {
    const groups = store.dataplanes.insightGroups(mesh.name);
    const count = (online: boolean) => groups.filter((g) => g.online === online).reduce((sum, g) => sum + g.count, 0);
    return { mesh: mesh.name, online: count(true), offline: count(false) };
  });
}
