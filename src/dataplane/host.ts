/**
 * A host process running many data plane proxies: one SSE stream and one ack batcher for all of them,
 * one TLS listener routing by SNI, and optionally the traffic generator. Library entry point used by the
 * CLI, the demo, tests and the benchmark.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AckBatcher } from './ack-batcher';
import { ProxyConfigEventSchema, type ProxyAckMessage, type ProxyConfigEvent } from '../mesh/dataplane-api';
import { ControlPlaneRequestError, DataplaneControlPlaneClient } from './control-plane-client';
import { dataplaneBindingOf } from './credential';
import type { ProxyKeyType } from './identity';
import { MtlsListener } from './mtls-server';
import { DataplaneProxy, type ProxyStatus } from './proxy';
import { spiffeId } from './spiffe';
import { SseSubscription } from './sse-client';
import { TimeSlicedQueue } from './time-sliced-queue';
import { TrafficGenerator, type TrafficOptions, type TrafficPair, type TrafficStats } from './traffic';
import { errorMessage } from '../mesh/errors';

export interface DataplaneHostOptions {
  controlPlaneUrl: string;
  token: string;
  /** The CA of the control plane's API certificate (https). */
  caPem?: string;
  mesh: string;
  count: number;
  /** Number of services the proxies are spread over (round robin): `svc-0` .. `svc-<K-1>`. Default 1. */
  services?: number;
  /** Proxy names are `<namePrefix>-<i>`. Default `dp-<4 random hex>`, so two hosts never collide. */
  namePrefix?: string;
  keyType?: ProxyKeyType;
  /** Start the traffic generator once proxies are ready to talk (true: default options). */
  traffic?: boolean | TrafficOptions;
  logger?: (line: string) => void;
  /**
   * Each config is applied after a random delay up to this many ms (default 0), per proxy in order. Real
   * meshes spread proxies over many machines, so an edit reaches them over seconds; this brings that
   * spread into one process (without it a careless rotation would look harmless in a demo).
   */
  propagationJitterMs?: number;
  /** Identifies the host's SSE stream. Default: the host its data plane credential is bound to, else `<hostname>/<pid>/<namePrefix>`. */
  hostId?: string;
}

export interface DataplaneHost {
  readonly hostId: string;
  /** Proxy names, in creation order. */
  readonly proxies: readonly string[];
  /** TCP port of the shared mTLS listener (127.0.0.1). */
  readonly port: number;
  /** Resolves when every proxy has a certificate and the control plane accepted its ack. */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  /** Resolves when `predicate` holds for every proxy's status (re-checked after every delivered ack batch). */
  waitUntilAll(predicate: (status: ProxyStatus) => boolean, timeoutMs?: number): Promise<void>;
  proxyStatuses(): ProxyStatus[];
  readyCount(): number;
  /** Traffic counters (zeros when traffic is off). */
  stats(): TrafficStats;
  /** Requests refused by the proxies' servers, by reason (the serving side's view). */
  serverRejections(): Record<string, number>;
  startTraffic(options?: TrafficOptions): void;
  /**
   * Fault drill: drops the control plane stream and stays away for `holdOffMs` (the control plane
   * marks the proxies offline), then reconnects with backoff. Proxies keep serving their last config.
   */
  dropControlPlaneStream(holdOffMs: number): void;
  /** Ends a hold of `dropControlPlaneStream` early. */
  reconnectControlPlaneStream(): void;
  stopTraffic(): Promise<void>;
  /**
   * Closes the stream (the control plane marks the proxies offline) and the listener. Keys die with
   * the process. With `deregister`, once nothing is served any more the proxies are also removed from
   * the control plane (as kuma-dp does on a graceful shutdown): a proxy that is gone for good then no
   * longer holds a rotation's gates.
   */
  stop(options?: { deregister?: boolean }): Promise<void>;
}

const REGISTRATION_BATCH = 500;
const KEYGEN_BATCH = 256;
const EMPTY_STATS: TrafficStats = { requests: 0, ok: 0, failed: 0, failuresByReason: {}, connections: 0 };

export async function startDataplaneHost(options: DataplaneHostOptions): Promise<DataplaneHost> {
  if (!Number.isInteger(options.count) || options.count < 1) throw new Error(`count must be a positive integer, got ${options.count}`);
  const services = options.services ?? 1;
  if (!Number.isInteger(services) || services < 1) throw new Error(`services must be a positive integer, got ${services}`);
  const log = options.logger ?? (() => undefined);
  const namePrefix = options.namePrefix ?? `dp-${randomBytes(2).toString('hex')}`;
  // A data plane credential is bound to one host id: connect as that host.
  const hostId = options.hostId ?? dataplaneBindingOf(options.token)?.host ?? `${os.hostname()}/${process.pid}/${namePrefix}`;
  const client = new DataplaneControlPlaneClient(options.controlPlaneUrl, options.token, options.caPem);

  const proxies: DataplaneProxy[] = [];
  const byServerName = new Map<string, DataplaneProxy>();
  const byName = new Map<string, DataplaneProxy>();
  const listener = new MtlsListener((serverName) => byServerName.get(serverName));
  const port = await listener.listen('127.0.0.1', 0);

  const started = Date.now();
  for (let first = 0; first < options.count; first += KEYGEN_BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(KEYGEN_BATCH, options.count - first) }, (_, offset) => {
        const index = first + offset;
        const name = `${namePrefix}-${index}`;
        return DataplaneProxy.create(
          { mesh: options.mesh, name, service: `svc-${index % services}`, address: '127.0.0.1', port, serverName: serverNameOf(options.mesh, name) },
          options.keyType,
        );
      }),
    );
    for (const proxy of batch) {
      if (byServerName.has(proxy.descriptor.serverName)) throw new Error(`two proxies would share server name ${proxy.descriptor.serverName}`);
      proxies.push(proxy);
      byServerName.set(proxy.descriptor.serverName, proxy);
      byName.set(proxy.name, proxy);
    }
  }
  log(`created ${proxies.length} proxies (${options.keyType ?? 'ecdsa-p256'} keys) in ${Date.now() - started} ms`);

  let stopped = false;
  const readinessWaiters = new Set<() => void>();
  const recheckWaiters = () => {
    for (const check of readinessWaiters) check();
  };

  const acks = new AckBatcher({
    send: (batch) => client.postAcks(batch),
    onDelivered: (batch: ProxyAckMessage[]) => {
      for (const ack of batch) byName.get(ack.name)?.markAcked(ack.version);
      recheckWaiters();
    },
    onError: (error) => log(`ack batch failed, will retry: ${errorMessage(error)}`),
  });

  const propagationJitterMs = options.propagationJitterMs ?? 0;
  const applyQueues = new Map<DataplaneProxy, Promise<void>>();
  const apply = (proxy: DataplaneProxy, config: ProxyConfigEvent) => {
    if (stopped) return;
    try {
      const ack = proxy.applyConfig(config);
      // Acked only once no handshake begun under the previous config is still running.
      proxy.whenSwappedIn(() => {
        if (!stopped && proxy.currentTls?.version === ack.version) acks.enqueue(ack);
      });
    } catch (error) {
      // Not acked: the control plane keeps seeing the old state, and its gates wait.
      log(`${proxy.name}: config version ${config.version} not applied: ${errorMessage(error)}`);
    }
  };

  const applyInOrder = new TimeSlicedQueue<{ proxy: DataplaneProxy; config: ProxyConfigEvent }>(({ proxy, config }) => apply(proxy, config));

  const onConfig = (data: string) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      log('ignored a stream event that is not JSON');
      return;
    }
    const result = ProxyConfigEventSchema.safeParse(parsed);
    if (!result.success) {
      log(`ignored an invalid config event: ${result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
      return;
    }
    const config = result.data;
    const proxy = byName.get(config.name);
    if (!proxy || config.mesh !== options.mesh) {
      log(`ignored config for unknown proxy ${config.mesh}/${config.name}`);
      return;
    }
    if (propagationJitterMs > 0) {
      // Each proxy applies its configs in order, each after its own random delay.
      const previous = applyQueues.get(proxy) ?? Promise.resolve();
      const next = previous.then(() => sleep(Math.random() * propagationJitterMs)).then(() => apply(proxy, config));
      applyQueues.set(proxy, next);
      // `next` never rejects (apply() logs its own failures); this only forgets a drained queue.
      void next.finally(() => {
        if (applyQueues.get(proxy) === next) applyQueues.delete(proxy);
      });
    } else {
      applyInOrder.push({ proxy, config });
    }
  };

  const registerAll = async () => {
    for (let first = 0; first < proxies.length; first += REGISTRATION_BATCH) {
      await client.registerProxies({ host: hostId, proxies: proxies.slice(first, first + REGISTRATION_BATCH).map((proxy) => proxy.registration()) });
    }
  };

  let everConnected = false;
  const stream = new SseSubscription({
    url: client.streamUrl(hostId),
    headers: { authorization: client.authorization },
    ca: options.caPem,
    beforeConnect: registerAll,
    onEvent: onConfig,
    onConnected: () => {
      log(`${everConnected ? 'reconnected' : 'connected'} to ${options.controlPlaneUrl} as host ${hostId} (${proxies.length} proxies)`);
      everConnected = true;
    },
    onDisconnected: (reason) => log(`control plane stream down (${reason}); reconnecting`),
  });

  let traffic: TrafficGenerator | undefined;
  const pickPair = (): TrafficPair | undefined => {
    const caller = proxies[Math.floor(Math.random() * proxies.length)];
    const target = proxies[Math.floor(Math.random() * proxies.length)];
    if (!caller?.hasCertificate || !target?.hasCertificate) return pickAnyPairWithCertificates(proxies, port);
    return pairOf(caller, target, port);
  };

  const startTraffic = (trafficOptions?: TrafficOptions) => {
    if (traffic) return;
    traffic = new TrafficGenerator(pickPair, trafficOptions);
    traffic.start();
  };
  if (options.traffic) startTraffic(options.traffic === true ? undefined : options.traffic);

  const waitUntilAll = (predicate: (status: ProxyStatus) => boolean, timeoutMs = 300_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!proxies.every((proxy) => predicate(proxy.status()))) return;
        finish();
        resolve();
      };
      const timer = setTimeout(() => {
        finish();
        const missing = proxies.filter((proxy) => !predicate(proxy.status())).map((proxy) => proxy.name);
        reject(new Error(`${missing.length} of ${proxies.length} proxies not there after ${timeoutMs} ms: ${missing.slice(0, 10).join(', ')}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        readinessWaiters.delete(check);
      };
      readinessWaiters.add(check);
      check();
    });

  return {
    hostId,
    proxies: proxies.map((proxy) => proxy.name),
    port,
    waitUntilReady: (timeoutMs) => waitUntilAll(isReady, timeoutMs),
    waitUntilAll,
    proxyStatuses: () => proxies.map((proxy) => proxy.status()),
    readyCount: () => proxies.filter((proxy) => proxy.ready).length,
    stats: () => traffic?.stats() ?? { ...EMPTY_STATS, failuresByReason: {} },
    serverRejections: () => ({ ...listener.rejectionsByReason }),
    startTraffic,
    dropControlPlaneStream: (holdOffMs) => {
      log(`dropping the control plane stream for ${holdOffMs} ms`);
      stream.interrupt(holdOffMs);
    },
    reconnectControlPlaneStream: () => stream.resume(),
    stopTraffic: async () => {
      await traffic?.stop();
    },
    stop: async (stopOptions) => {
      if (stopped) return;
      stopped = true;
      await traffic?.stop();
      acks.stop();
      applyInOrder.clear();
      await stream.close();
      // Nothing is served after this: only then may the proxies leave the gates.
      await listener.close();
      if (stopOptions?.deregister) await deregisterAll(client, options.mesh, proxies, log);
      log(`host ${hostId} stopped`);
    },
  };
}

const DEREGISTER_CONCURRENCY = 8;

async function deregisterAll(client: DataplaneControlPlaneClient, mesh: string, proxies: readonly DataplaneProxy[], log: (line: string) => void): Promise<void> {
  const failures: string[] = [];
  let next = 0;
  const work = async () => {
    for (let proxy = proxies[next++]; proxy; proxy = proxies[next++]) {
      try {
        await client.deregisterProxy(mesh, proxy.name);
      } catch (error) {
        // A proxy the control plane no longer knows is as good as deregistered.
        if (!(error instanceof ControlPlaneRequestError && error.status === 404)) failures.push(`${proxy.name}: ${errorMessage(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: DEREGISTER_CONCURRENCY }, work));
  log(
    failures.length === 0
      ? `deregistered ${proxies.length} proxies`
      : `deregistered ${proxies.length - failures.length} of ${proxies.length} proxies; the others stay registered (offline): ${failures.slice(0, 3).join('; ')}`,
  );
}

function isReady(status: ProxyStatus): boolean {
  return status.hasCertificate && status.appliedVersion !== undefined && status.ackedVersion === status.appliedVersion;
}

/** SNI name routing to a proxy on the shared listener; DNS-safe whatever the proxy and mesh names are. */
export function serverNameOf(mesh: string, name: string): string {
  const label = (text: string) => text.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63);
  return `${label(name)}.${label(mesh)}.dp.mesh`;
}

function pairOf(caller: DataplaneProxy, target: DataplaneProxy, port: number): TrafficPair {
  return {
    caller,
    target: { port, serverName: target.descriptor.serverName, expectedSpiffeId: spiffeId(target.descriptor.mesh, target.descriptor.service) },
  };
}

/** Slow path while some proxies still wait for their first certificate. */
function pickAnyPairWithCertificates(proxies: readonly DataplaneProxy[], port: number): TrafficPair | undefined {
  const able = proxies.filter((proxy) => proxy.hasCertificate);
  const caller = able[Math.floor(Math.random() * able.length)];
  const target = able[Math.floor(Math.random() * able.length)];
  return caller && target ? pairOf(caller, target, port) : undefined;
}
