import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ControlPlaneMetrics } from '../../../src/controlplane/metrics';
import { dataplaneMetrics } from '../../../src/dataplane/metrics';
import type { DataplaneHost } from '../../../src/dataplane/host';
import type { TrafficStats } from '../../../src/dataplane/traffic';

function fakeHost(stats: () => TrafficStats): DataplaneHost {
  return { stats, readyCount: () => 3, proxies: ['a', 'b', 'c', 'd'] } as unknown as DataplaneHost;
}

function line(text: string, series: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(`${series} `));
}

describe("a data plane host's traffic counters", () => {
  it('count requests and failures, trust failures apart, and never go backwards when traffic restarts', async () => {
    let stats: TrafficStats = { requests: 10, ok: 8, failed: 2, connections: 4, failuresByReason: { 'certificate signed by unknown authority': 1, 'timeout after 5000 ms': 1 } };
    const registry = dataplaneMetrics(fakeHost(() => stats));
    let text = await registry.metrics();
    expect(line(text, 'ca_rotate_traffic_requests_total')).toBe('ca_rotate_traffic_requests_total 10');
    expect(line(text, 'ca_rotate_traffic_trust_failures_total')).toBe('ca_rotate_traffic_trust_failures_total 1');
    expect(line(text, 'ca_rotate_traffic_failures_total{reason="timeout after 5000 ms"}')).toBeDefined();
    expect(line(text, 'ca_rotate_dataplane_proxies{state="not_ready"}')).toBe('ca_rotate_dataplane_proxies{state="not_ready"} 1');

    // A new traffic generator starts from zero: the counter adds what it counted since.
    stats = { requests: 4, ok: 3, failed: 1, connections: 1, failuresByReason: { 'peer: certificate signed by unknown authority': 1 } };
    text = await registry.metrics();
    expect(line(text, 'ca_rotate_traffic_requests_total')).toBe('ca_rotate_traffic_requests_total 14');
    expect(line(text, 'ca_rotate_traffic_trust_failures_total')).toBe('ca_rotate_traffic_trust_failures_total 2');
    expect(line(text, 'ca_rotate_traffic_failures_total{reason="timeout after 5000 ms"}')).toBe('ca_rotate_traffic_failures_total{reason="timeout after 5000 ms"} 1');
  });
});

describe("the control plane's admission refusals", () => {
  function exchange(metrics: ControlPlaneMetrics, method: string, url: string, status: number): void {
    const res = Object.assign(new EventEmitter(), { statusCode: status }) as unknown as ServerResponse;
    metrics.observe({ method, url } as IncomingMessage, res);
    res.emit('finish');
  }

  it('counts a 422 answer to PUT /meshes/{name} (with or without a query), and nothing else', async () => {
    const metrics = new ControlPlaneMetrics(() => [{ mesh: 'default', online: 2, offline: 1 }]);
    exchange(metrics, 'PUT', '/meshes/default', 422);
    exchange(metrics, 'PUT', '/meshes/default?force=false', 422);
    exchange(metrics, 'PUT', '/meshes/default', 200);
    exchange(metrics, 'PUT', '/meshes/default', 400);
    exchange(metrics, 'PUT', '/meshes/default/secrets/x', 422);
    exchange(metrics, 'GET', '/meshes/default', 422);
    const text = await metrics.registry.metrics();
    expect(line(text, 'ca_rotate_cp_admission_refusals_total{mesh="default"}')).toBe('ca_rotate_cp_admission_refusals_total{mesh="default"} 2');
    expect(line(text, 'ca_rotate_cp_proxies{mesh="default",state="offline"}')).toBe('ca_rotate_cp_proxies{mesh="default",state="offline"} 1');
  });
});
