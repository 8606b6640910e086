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

/** Reasons that mean a peer's certificate was not trusted: what the rotation's gates exist to prevent. */
export const TRUST_FAILURE_REASONS: ReadonlySet<string> = new Set([
  UNKNOWN_AUTHORITY,
  `peer: ${UNKNOWN_AUTHORITY}`,
  SAN_MISMATCH,
  'certificate has expired',
  'certificate is not yet valid',
]);

/** A counter that follows a monotonic figure read at scrape time (a restarted generator counts on). */
function followingCounter(registry: Registry, name: string, help: string, labelNames: string[], read: () => Record<string, number>): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [key, value] of Object.entries(read())) {
        const seen = last.get(key) ?? 0;
        const delta = value >= seen ? value - seen : value;
        last.set(key, value);
        const labels = labelNames.length > 0 ? { [labelNames[0] as string]: key } : undefined;
        if (delta > 0) {
          if (labels) this.inc(labels, delta);
          else this.inc(delta);
        } else if (labels && seen === 0) {
          this.inc(labels, 0);
        }
      }
    },
  });
}

export function dataplaneMetrics(host: DataplaneHost): Registry {
  const registry = new Registry();
  const stats = () => host.stats();
  followingCounter(registry, 'ca_rotate_traffic_requests_total', 'mTLS requests sent between proxies', [], () => ({ all: stats().requests }));
  followingCounter(registry, 'ca_rotate_traffic_failures_total', 'failed mTLS requests, by reason', ['reason'], () => stats().failuresByReason);
  followingCounter(registry, 'ca_rotate_traffic_trust_failures_total', 'failed mTLS requests where a peer certificate was not trusted (must stay 0 during a rotation)', [], () => {
    let trust = 0;
    for (const [reason, count] of Object.entries(stats().failuresByReason)) if (TRUST_FAILURE_REASONS.has(reason)) trust += count;
    return { all: trust };
  });
  followingCounter(registry, 'ca_rotate_traffic_connections_total', 'mTLS connections opened (each a full handshake)', [], () => ({ all: stats().connections }));
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
