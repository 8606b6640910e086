/**
 * `GET /metrics` of the control plane, in Prometheus' text format: certificate issuance (rate,
 * latency, failures), connected proxies, and admission refusals of mesh edits. Counters are fed by
 * issuance and by the HTTP layer; proxy counts are read from the store at scrape time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface IssuanceObservation {
  mesh: string;
  backend: string;
  seconds: number;
  ok: boolean;
}

export interface ProxyCount {
  mesh: string;
  online: number;
  offline: number;
}

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  private readonly issued: Counter<'mesh' | 'backend' | 'outcome'>;
  private readonly issuanceSeconds: Histogram<'backend'>;
  private readonly refusals: Counter<'mesh'>;

  constructor(proxyCounts: () => ProxyCount[]) {
    const registers = [this.registry];
    this.issued = new Counter({ name: 'ca_rotate_cp_certificates_issued_total', help: 'identity certificates signed for proxies (outcome: issued or failed)', labelNames: ['mesh', 'backend', 'outcome'], registers });
    this.issuanceSeconds = new Histogram({
      name: 'ca_rotate_cp_issuance_seconds',
      help: 'time to sign one identity certificate, by backend',
      labelNames: ['backend'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.refusals = new Counter({ name: 'ca_rotate_cp_admission_refusals_total', help: 'mesh edits refused by admission (422: the gate does not hold)', labelNames: ['mesh'], registers });
    new Gauge({
      name: 'ca_rotate_cp_proxies',
      help: 'registered proxies by connection state (online: its delivery stream is connected)',
      labelNames: ['mesh', 'state'],
      registers,
      collect() {
        this.reset();
        for (const count of proxyCounts()) {
          this.set({ mesh: count.mesh, state: 'online' }, count.online);
          this.set({ mesh: count.mesh, state: 'offline' }, count.offline);
        }
      },
    });
  }

  issuance(observation: IssuanceObservation): void {
    this.issued.inc({ mesh: observation.mesh, backend: observation.backend, outcome: observation.ok ? 'issued' : 'failed' });
    if (observation.ok) this.issuanceSeconds.observe({ backend: observation.backend }, observation.seconds);
  }

  /** Counts admission refusals from the answers to `PUT /meshes/{name}` (a 422 there is always the gate). */
  observe(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'PUT') return;
    const mesh = /^\/meshes\/([^/?]+)(?:\?|$)/.exec(req.url ?? '')?.[1];
    if (mesh === undefined) return;
    res.once('finish', () => {
      if (res.statusCode === 422) this.refusals.inc({ mesh: decodeURIComponent(mesh) });
    });
  }

  async send(res: ServerResponse): Promise<void> {
    const body = await this.registry.metrics();
    res.writeHead(200, { 'content-type': this.registry.contentType }).end(body);
  }
}
