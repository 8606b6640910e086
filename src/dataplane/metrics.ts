/**
 * Prometheus metrics of a data plane host: its live mTLS traffic (what a CA rotation must not break)
 * and its proxies' readiness. `ca-rotate dataplanes --metrics-address` serves them; the demo and the
 * drills can too. Read from the host's counters at scrape time, so the traffic path stays untouched.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { SAN_MISMATCH, UNKNOWN_AUTHORITY } from './failure-reason';
import type { DataplaneHost } from './host';
import type { TrafficStats } from './traffic';

/** Reasons that mean a peer's certificate was not trusted: what the rotation's gates exist to prevent. */
export const TRUST_FAILURE_REASONS: ReadonlySet<string> = new Set([
  UNKNOWN_AUTHORITY,
  `peer: ${UNKNOWN_AUTHORITY}`,
  SAN_MISMATCH,
  'certificate has expired',
  'certificate is not yet valid',
]);

/**
 * The host's traffic counters at scrape time, with an epoch that grows when they went back to zero (a
 * new traffic generator), so counters that follow them add what was counted since instead of stalling.
 */
function trafficReader(host: DataplaneHost): () => { stats: TrafficStats; epoch: number } {
  let lastRequests = 0;
  let epoch = 0;
  return () => {
    const stats = host.stats();
    if (stats.requests < lastRequests) epoch++;
    lastRequests = stats.requests;
    return { stats, epoch };
  };
}

/** A Prometheus counter that follows monotonic figures read at scrape time, one series per key. */
function followingCounter(
  registry: Registry,
  name: string,
  help: string,
  label: string | undefined,
  read: () => { values: Record<string, number>; epoch: number },
): void {
  const last = new Map<string, number>();
  let lastEpoch = 0;
  new Counter({
    name,
    help,
    labelNames: label ? [label] : [],
    registers: [registry],
    collect() {
      const { values, epoch } = read();
      if (epoch !== lastEpoch) last.clear();
      lastEpoch = epoch;
      for (const [key, value] of Object.entries(values)) {
        const delta = Math.max(0, value - (last.get(key) ?? 0));
        last.set(key, value);
        if (label) this.inc({ [label]: key }, delta);
        else this.inc(delta);
      }
    },
  });
}

export function dataplaneMetrics(host: DataplaneHost): Registry {
  const registry = new Registry();
  const read = trafficReader(host);
  const follow = (name: string, help: string, label: string | undefined, values: (stats: TrafficStats) => Record<string, number>) =>
    followingCounter(registry, name, help, label, () => {
      const { stats, epoch } = read();
      return { values: values(stats), epoch };
    });
  follow('ca_rotate_traffic_requests_total', 'mTLS requests sent between proxies', undefined, (s) => ({ all: s.requests }));
  follow('ca_rotate_traffic_failures_total', 'failed mTLS requests, by reason', 'reason', (s) => s.failuresByReason);
  follow('ca_rotate_traffic_trust_failures_total', 'failed mTLS requests where a peer certificate was not trusted (must stay 0 during a rotation)', undefined, (s) => ({
    all: Object.entries(s.failuresByReason).reduce((sum, [reason, count]) => sum + (TRUST_FAILURE_REASONS.has(reason) ? count : 0), 0),
  }));
  follow('ca_rotate_traffic_connections_total', 'mTLS connections opened (each a full handshake)', undefined, (s) => ({ all: s.connections }));
  new Gauge({
    name: 'ca_rotate_dataplane_proxies',
    help: 'proxies of this host, by readiness (ready: holds a certificate the control plane accepted)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const ready = host.readyCount();
      this.set({ state: 'ready' }, ready);
      this.set({ state: 'not_ready' }, host.proxies.length - ready);
    },
  });
  return registry;
}

/** Serves `registry` at `http://<bindAddress>/metrics` (host:port; port 0 picks a free one). */
export async function serveMetrics(registry: Registry, bindAddress: string): Promise<{ url: string; stop(): Promise<void> }> {
  const separator = bindAddress.lastIndexOf(':');
  const host = bindAddress.slice(0, separator);
  const port = Number(bindAddress.slice(separator + 1));
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}/metrics`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
