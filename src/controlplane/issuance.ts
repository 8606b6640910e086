/**
 * Identity certificates: signs the stored CSRs of proxies with the mesh's enabled backend. Runs on
 * its own (a proxy joins or changes key, the enabled backend changes, a certificate nears expiry) in
 * batches, and on request (`_reissue`, the workflow's resumable step 2). One lane per mesh: the two
 * never sign twice for one change, because each checks what the proxy holds inside the lane.
 */
import type { ReissuePage } from './api-schemas';
import type { CaAccess } from './ca-access';
import { csrDer, renewalTimeMs } from './certificates';
import type { Delivery } from './delivery';
import type { IssuanceObservation } from './metrics';
import type { ControlPlaneStore, DataplaneRow, IssuedCertificate } from './store';
import { errorMessage } from '../mesh/errors';

const BATCH_SIZE = 200;
const PARALLEL_SIGNINGS = 16;
const TICK_MS = 2_000;

export class CertificateIssuance {
  private readonly lanes = new Map<string, Promise<unknown>>();
  private readonly scheduled = new Set<string>();
  /** Proxies whose CSR could not be signed; retried on the next tick, not in a tight loop. */
  private readonly failing = new Map<string, Set<string>>();
  private readonly ticker: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly store: ControlPlaneStore,
    private readonly ca: CaAccess,
    private readonly delivery: Delivery,
    private readonly log: (line: string) => void,
    private readonly observe: (observation: IssuanceObservation) => void = () => {},
  ) {
    this.ticker = setInterval(() => {
      this.failing.clear();
      for (const stored of this.store.meshes.list()) this.kick(stored.mesh.name);
    }, TICK_MS);
    this.ticker.unref();
  }

  /** Schedules a background pass over the mesh (coalesced). */
  kick(mesh: string): void {
    if (this.stopped || this.scheduled.has(mesh)) return;
    this.scheduled.add(mesh);
    this.inLane(mesh, async () => {
      this.scheduled.delete(mesh);
      await this.backgroundPass(mesh);
    }).catch((err: unknown) => this.log(`issuance: background pass over mesh "${mesh}" failed: ${errorMessage(err)}`));
  }

  /** `POST /meshes/{mesh}/certificates/_reissue`: one page of proxies in name order after `after`. */
  reissue(mesh: string, after: string | null, limit: number): Promise<ReissuePage> {
    return this.inLane(mesh, async () => {
      const page = this.store.dataplanes.after(mesh, after, limit + 1);
      const more = page.length > limit;
      const examined = page.slice(0, limit);
      const enabled = this.store.meshes.get(mesh)?.mesh.mtls?.enabledBackend;
      const due = enabled === undefined ? [] : examined.filter((row) => needsCertificate(row, enabled, Date.now()));
      const issued = enabled === undefined ? 0 : await this.issueAll(mesh, enabled, due, { throwOnFailure: true });
      return { issued, skipped: examined.length - issued, next: more ? (examined.at(-1)?.name ?? null) : null };
    });
  }

  /** Waits until every pass already scheduled has finished. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.lanes.values()]);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.ticker);
  }

  private async backgroundPass(mesh: string): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const enabled = this.store.meshes.get(mesh)?.mesh.mtls?.enabledBackend;
      if (enabled === undefined) return;
      const skip = [...(this.failing.get(mesh) ?? [])];
      const due = this.store.dataplanes.needingCertificate(mesh, enabled, Date.now(), BATCH_SIZE, skip);
      if (due.length === 0) return;
      await this.issueAll(mesh, enabled, due, { throwOnFailure: false });
      // Let requests and acks in between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Signs, records in one transaction, then pushes. Returns how many were issued. */
  private async issueAll(mesh: string, enabled: string, rows: readonly DataplaneRow[], opts: { throwOnFailure: boolean }): Promise<number> {
    if (rows.length === 0) return 0;
    const stored = this.store.meshes.get(mesh);
    const backend = stored?.mesh.mtls?.backends?.find((b) => b.name === enabled);
    if (!stored || !backend) throw new Error(`mesh "${mesh}" enables backend "${enabled}" but does not define it`);
    const issuer = await this.ca.issuer(mesh, backend);
    const issued: { mesh: string; name: string; csrPem: string; certificate: IssuedCertificate }[] = [];
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < rows.length) {
        const row = rows[next++] as DataplaneRow;
        const started = performance.now();
        const observe = (ok: boolean) => this.observe({ mesh, backend: enabled, seconds: (performance.now() - started) / 1000, ok });
        try {
          const der = csrDer(row.csrPem);
          if (!der) throw new Error('the stored CSR is not PEM');
          const service = row.tags['kuma.io/service'] ?? row.name;
          const identity = await issuer.issue({ csrDer: der, service, tags: row.tags });
          issued.push({
            mesh,
            name: row.name,
            csrPem: row.csrPem,
            certificate: {
              pem: identity.certificatePem,
              chain: identity.chainPem,
              backend: enabled,
              issuerFingerprint: identity.issuerFingerprint,
              expiresAt: identity.expiresAt,
              renewAfterMs: renewalTimeMs(identity.certificatePem),
            },
          });
          observe(true);
        } catch (err) {
          observe(false);
          failures.push(row.name);
          let failing = this.failing.get(mesh);
          if (!failing) this.failing.set(mesh, (failing = new Set()));
          failing.add(row.name);
          this.log(`issuance: cannot issue a certificate from backend "${enabled}" for proxy "${mesh}/${row.name}": ${errorMessage(err)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_SIGNINGS, rows.length) }, worker));
    // The mesh may have switched backends while we signed: never store a certificate it no longer enables.
    if (this.store.meshes.get(mesh)?.mesh.mtls?.enabledBackend === enabled && issued.length > 0) {
      this.store.dataplanes.recordCertificates(issued, new Date().toISOString());
      await this.delivery.pushMesh(mesh, new Set(issued.map((i) => i.name)));
    }
    if (opts.throwOnFailure && failures.length > 0) {
      throw new IssuanceError(`backend "${enabled}" could not issue certificates for ${failures.length} proxies`, failures.slice(0, 20));
    }
    return issued.length;
  }

  private inLane<T>(mesh: string, work: () => Promise<T>): Promise<T> {
    const previous = this.lanes.get(mesh) ?? Promise.resolve();
    const result = previous.then(work, work);
    const settled = result.catch(() => undefined);
    this.lanes.set(mesh, settled);
    // `settled` never rejects; this only forgets a finished lane.
    void settled.then(() => {
      if (this.lanes.get(mesh) === settled) this.lanes.delete(mesh);
    });
    return result;
  }
}

export class IssuanceError extends Error {
  constructor(
    message: string,
    readonly proxies: string[],
  ) {
    super(message);
    this.name = 'IssuanceError';
  }
}

export function needsCertificate(row: DataplaneRow, enabledBackend: string, nowMs: number): boolean {
  const certificate = row.certificate;
  return !certificate || certificate.backend !== enabledBackend || row.csrChanged || certificate.renewAfterMs <= nowMs;
}
