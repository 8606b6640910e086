/**
 * Data plane proxies: registration, the certificate issued to each, what each acked (insights),
 * whether its host's stream is connected, and a per-mesh sequence number that moves on whenever a
 * proxy's insights change.
 */
import type { FingerprintStore } from './store-fingerprints';
import type { StoreDb } from './store-db';

export interface IssuedCertificate {
  pem: string;
  chain: string[];
  backend: string;
  issuerFingerprint: string;
  expiresAt: string;
  /** When the control plane renews it on its own (4/5 of its lifetime). */
  renewAfterMs: number;
}

export interface DataplaneRegistration {
  mesh: string;
  name: string;
  host: string;
  address: string;
  port: number;
  tags: Record<string, string>;
  csrPem: string;
}

export interface DataplaneRow extends DataplaneRegistration {
  /** The stored CSR has changed since the certificate was issued (new key): issue again. */
  csrChanged: boolean;
  certificate: IssuedCertificate | undefined;
  configVersion: number;
  ackedVersion: number;
  online: boolean;
  connectTime: string | undefined;
  disconnectTime: string | undefined;
  issuedBackend: string | undefined;
  supportedBackends: string[];
  lastCertificateRegeneration: string | undefined;
  certificateRegenerations: number;
}

export interface InsightUpdate {
  mesh: string;
  name: string;
  ackedVersion: number;
  issuedBackend: string | undefined;
  supportedBackends: string[];
}

interface RawDataplane {
  mesh: string;
  name: string;
  host: string;
  address: string;
  port: number;
  tags: string;
  csr_pem: string;
  csr_changed: number;
  cert_pem: string | null;
  cert_chain: string | null;
  cert_backend: string | null;
  cert_issuer_fp: string | null;
  cert_expires_at: string | null;
  cert_renew_after_ms: number | null;
  config_version: number;
  acked_version: number;
  online: number;
  connect_time: string | null;
  disconnect_time: string | null;
  issued_backend: string | null;
  supported_backends: string;
  last_regeneration: string | null;
  regenerations: number;
}

export const DATAPLANE_SCHEMA = `
CREATE TABLE IF NOT EXISTS dataplanes (
  mesh TEXT NOT NULL,
  name TEXT NOT NULL,
  host TEXT NOT NULL,
  address TEXT NOT NULL,
  port INTEGER NOT NULL,
  tags TEXT NOT NULL,
  csr_pem TEXT NOT NULL,
  csr_changed INTEGER NOT NULL DEFAULT 1,
  cert_pem TEXT,
  cert_chain TEXT,
  cert_backend TEXT,
  cert_issuer_fp TEXT,
  cert_expires_at TEXT,
  cert_renew_after_ms INTEGER,
  config_version INTEGER NOT NULL DEFAULT 1,
  acked_version INTEGER NOT NULL DEFAULT 0,
  online INTEGER NOT NULL DEFAULT 0,
  connect_time TEXT,
  disconnect_time TEXT,
  issued_backend TEXT,
  supported_backends TEXT NOT NULL DEFAULT '[]',
  last_regeneration TEXT,
  regenerations INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (mesh, name)
);
CREATE INDEX IF NOT EXISTS dataplanes_by_host ON dataplanes (host);
CREATE TABLE IF NOT EXISTS insight_seq (
  mesh TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
);
`;

function toDataplane(raw: RawDataplane): DataplaneRow {
  const certificate: IssuedCertificate | undefined =
    raw.cert_pem && raw.cert_backend && raw.cert_issuer_fp && raw.cert_expires_at
      ? {
          pem: raw.cert_pem,
          chain: JSON.parse(raw.cert_chain ?? '[]') as string[],
          backend: raw.cert_backend,
          issuerFingerprint: raw.cert_issuer_fp,
          expiresAt: raw.cert_expires_at,
          renewAfterMs: raw.cert_renew_after_ms ?? 0,
        }
      : undefined;
  return {
    mesh: raw.mesh,
    name: raw.name,
    host: raw.host,
    address: raw.address,
    port: raw.port,
    tags: JSON.parse(raw.tags) as Record<string, string>,
    csrPem: raw.csr_pem,
    csrChanged: raw.csr_changed === 1,
    certificate,
    configVersion: raw.config_version,
    ackedVersion: raw.acked_version,
    online: raw.online === 1,
    connectTime: raw.connect_time ?? undefined,
    disconnectTime: raw.disconnect_time ?? undefined,
    issuedBackend: raw.issued_backend ?? undefined,
    supportedBackends: JSON.parse(raw.supported_backends) as string[],
    lastCertificateRegeneration: raw.last_regeneration ?? undefined,
    certificateRegenerations: raw.regenerations,
  };
}

export class DataplaneStore {
  constructor(
    private readonly store: StoreDb,
    private readonly fingerprints: FingerprintStore,
  ) {}

  /** Registers or re-registers proxies; a changed CSR (new key) marks the certificate for re-issue. */
  register(registrations: readonly DataplaneRegistration[], online: (host: string) => boolean, now: string): Map<string, number> {
    const upsert = this.store.prepare(
      `INSERT INTO dataplanes (mesh, name, host, address, port, tags, csr_pem, csr_changed, online, connect_time)
       VALUES (@mesh, @name, @host, @address, @port, @tags, @csr_pem, 1, @online, @connect_time)
       ON CONFLICT (mesh, name) DO UPDATE SET
         host = excluded.host, address = excluded.address, port = excluded.port, tags = excluded.tags,
         csr_changed = CASE WHEN dataplanes.csr_pem = excluded.csr_pem THEN dataplanes.csr_changed ELSE 1 END,
         csr_pem = excluded.csr_pem,
         config_version = dataplanes.config_version + 1,
         online = excluded.online,
         connect_time = CASE WHEN excluded.online = 1 AND dataplanes.online = 0 THEN excluded.connect_time ELSE dataplanes.connect_time END,
         disconnect_time = CASE WHEN excluded.online = 1 THEN NULL ELSE dataplanes.disconnect_time END`,
    );
    return this.store.transaction(() => {
      for (const r of registrations) {
        const isOnline = online(r.host);
        upsert.run({
          mesh: r.mesh,
          name: r.name,
          host: r.host,
          address: r.address,
          port: r.port,
          tags: JSON.stringify(r.tags),
          csr_pem: r.csrPem,
          online: isOnline ? 1 : 0,
          connect_time: isOnline ? now : null,
        });
      }
      return this.bumpInsightSeqs(registrations.map((r) => r.mesh));
    });
  }

  /** Returns the mesh's insight sequence number after the removal, or undefined when there was no such proxy. */
  delete(mesh: string, name: string): number | undefined {
    return this.store.transaction(() => {
      if (this.store.prepare('DELETE FROM dataplanes WHERE mesh = ? AND name = ?').run(mesh, name).changes === 0) return undefined;
      return this.bumpInsightSeqs([mesh]).get(mesh);
    });
  }

  /** A new mesh version: what every proxy of the mesh receives next is newer than anything before. */
  meshChanged(mesh: string): void {
    this.store.prepare('UPDATE dataplanes SET config_version = config_version + 1 WHERE mesh = ?').run(mesh);
  }

  forgetMesh(mesh: string): void {
    this.store.prepare('DELETE FROM dataplanes WHERE mesh = ?').run(mesh);
    this.store.prepare('DELETE FROM insight_seq WHERE mesh = ?').run(mesh);
  }

  insightSeq(mesh: string): number {
    const row = this.store.prepare('SELECT seq FROM insight_seq WHERE mesh = ?').get(mesh) as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  private bumpInsightSeqs(meshes: Iterable<string>): Map<string, number> {
    const bump = this.store.prepare('INSERT INTO insight_seq (mesh, seq) VALUES (?, 1) ON CONFLICT (mesh) DO UPDATE SET seq = seq + 1 RETURNING seq');
    const seqs = new Map<string, number>();
    for (const mesh of new Set(meshes)) seqs.set(mesh, (bump.get(mesh) as { seq: number }).seq);
    return seqs;
  }

  get(mesh: string, name: string): DataplaneRow | undefined {
    const raw = this.store.prepare('SELECT * FROM dataplanes WHERE mesh = ? AND name = ?').get(mesh, name) as RawDataplane | undefined;
    return raw ? toDataplane(raw) : undefined;
  }

  ofMesh(mesh: string, page?: { offset: number; size: number }): DataplaneRow[] {
    const rows = page
      ? this.store.prepare('SELECT * FROM dataplanes WHERE mesh = ? ORDER BY name LIMIT ? OFFSET ?').all(mesh, page.size, page.offset)
      : this.store.prepare('SELECT * FROM dataplanes WHERE mesh = ? ORDER BY name').all(mesh);
    return (rows as RawDataplane[]).map(toDataplane);
  }

  /** The named proxies of `mesh` that exist, in name order. One query, whatever the mesh's size. */
  named(mesh: string, names: Iterable<string>): DataplaneRow[] {
    const rows = this.store
      .prepare('SELECT * FROM dataplanes WHERE mesh = ? AND name IN (SELECT value FROM json_each(?)) ORDER BY name')
      .all(mesh, JSON.stringify([...names])) as RawDataplane[];
    return rows.map(toDataplane);
  }

  after(mesh: string, after: string | null, limit: number): DataplaneRow[] {
    const rows = this.store.prepare('SELECT * FROM dataplanes WHERE mesh = ? AND name > ? ORDER BY name LIMIT ?').all(mesh, after ?? '', limit);
    return (rows as RawDataplane[]).map(toDataplane);
  }

  /** True when every online proxy of the mesh reports the same mTLS state (a step has converged). */
  onlineStatesConverged(mesh: string): boolean {
    const row = this.store
      .prepare('SELECT COUNT(*) AS n FROM (SELECT DISTINCT issued_backend, supported_backends FROM dataplanes WHERE mesh = ? AND online = 1)')
      .get(mesh) as { n: number };
    return row.n <= 1;
  }

  /** The mesh's proxies grouped by what insights count (online, issued backend, supported backends): one aggregate query, however big the mesh. */
  insightGroups(mesh: string): { online: boolean; issuedBackend: string | undefined; supportedBackends: string[]; count: number }[] {
    const rows = this.store
      .prepare('SELECT online, issued_backend, supported_backends, COUNT(*) AS n FROM dataplanes WHERE mesh = ? GROUP BY online, issued_backend, supported_backends')
      .all(mesh) as { online: number; issued_backend: string | null; supported_backends: string; n: number }[];
    return rows.map((r) => ({ online: r.online === 1, issuedBackend: r.issued_backend ?? undefined, supportedBackends: JSON.parse(r.supported_backends) as string[], count: r.n }));
  }

  count(mesh: string): number {
    return (this.store.prepare('SELECT COUNT(*) AS n FROM dataplanes WHERE mesh = ?').get(mesh) as { n: number }).n;
  }

  ofHost(host: string): DataplaneRow[] {
    return (this.store.prepare('SELECT * FROM dataplanes WHERE host = ? ORDER BY mesh, name').all(host) as RawDataplane[]).map(toDataplane);
  }

  /** Proxies of `mesh` that need a certificate from `enabledBackend`: none yet, another backend's, a new key, or near expiry. */
  needingCertificate(mesh: string, enabledBackend: string, nowMs: number, limit: number, exclude: readonly string[]): DataplaneRow[] {
    const rows = this.store
      .prepare(
        `SELECT * FROM dataplanes WHERE mesh = ? AND (cert_backend IS NULL OR cert_backend <> ? OR csr_changed = 1 OR cert_renew_after_ms <= ?)
         AND name NOT IN (SELECT value FROM json_each(?)) ORDER BY name LIMIT ?`,
      )
      .all(mesh, enabledBackend, nowMs, JSON.stringify(exclude), limit) as RawDataplane[];
    return rows.map(toDataplane);
  }

  /** Stores newly issued certificates (and their issuers' fingerprints); the proxies' config versions move on. */
  recordCertificates(issued: readonly { mesh: string; name: string; csrPem: string; certificate: IssuedCertificate }[], now: string): void {
    const update = this.store.prepare(
      `UPDATE dataplanes SET cert_pem = ?, cert_chain = ?, cert_backend = ?, cert_issuer_fp = ?, cert_expires_at = ?, cert_renew_after_ms = ?,
         csr_changed = CASE WHEN csr_pem = ? THEN 0 ELSE 1 END,
         config_version = config_version + 1, last_regeneration = ?, regenerations = regenerations + 1
       WHERE mesh = ? AND name = ?`,
    );
    this.store.transaction(() => {
      for (const { mesh, name, csrPem, certificate: c } of issued) {
        update.run(c.pem, JSON.stringify(c.chain), c.backend, c.issuerFingerprint, c.expiresAt, c.renewAfterMs, csrPem, now, mesh, name);
        this.fingerprints.record(mesh, 'issuer', c.backend, [c.issuerFingerprint]);
      }
    });
  }

  /** Applies acks; an ack older than one already applied is ignored. Returns the rows that changed and the meshes' new seqs. */
  recordInsights(updates: readonly InsightUpdate[]): { changed: DataplaneRow[]; seqs: Map<string, number> } {
    const update = this.store.prepare(
      'UPDATE dataplanes SET acked_version = ?, issued_backend = ?, supported_backends = ? WHERE mesh = ? AND name = ? AND acked_version <= ?',
    );
    return this.store.transaction(() => {
      const changed: DataplaneRow[] = [];
      for (const u of updates) {
        const result = update.run(u.ackedVersion, u.issuedBackend ?? null, JSON.stringify(u.supportedBackends), u.mesh, u.name, u.ackedVersion);
        if (result.changes > 0) {
          const row = this.get(u.mesh, u.name);
          if (row) changed.push(row);
        }
      }
      return { changed, seqs: this.bumpInsightSeqs(changed.map((r) => r.mesh)) };
    });
  }

  /** Marks every proxy of a host online or offline (its delivery stream connected or closed). */
  setHostOnline(host: string, online: boolean, now: string): { rows: DataplaneRow[]; seqs: Map<string, number> } {
    return this.store.transaction(() => {
      if (online) {
        this.store.prepare('UPDATE dataplanes SET online = 1, connect_time = ?, disconnect_time = NULL WHERE host = ?').run(now, host);
      } else {
        this.store.prepare('UPDATE dataplanes SET online = 0, disconnect_time = ? WHERE host = ? AND online = 1').run(now, host);
      }
      const rows = this.ofHost(host);
      return { rows, seqs: this.bumpInsightSeqs(rows.map((r) => r.mesh)) };
    });
  }

  /** After a restart no stream is connected yet: every proxy starts offline. */
  markAllOffline(now: string): void {
    this.store.prepare('UPDATE dataplanes SET online = 0, disconnect_time = ? WHERE online = 1').run(now);
  }
}
