/**
 * The control plane's durable state in one SQLite file (WAL): meshes with every version kept,
 * secrets encrypted at rest, data plane proxies with their certificates and insights, and the
 * fingerprints that map what a proxy reports back to backend names.
 * Synchronous (better-sqlite3); every multi-row write runs in one transaction.
 */
import Database from 'better-sqlite3';
import { type Mesh, MeshSchema } from '../mesh/schema';
import type { SecretCipher } from './secret-crypto';

export interface StoredMesh {
  mesh: Mesh;
  version: number;
  creationTime: string;
  modificationTime: string;
}

export interface MeshHistoryEntry {
  version: number;
  time: string;
  actor: string;
  forced: boolean;
  mesh: Mesh;
}

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

export type FingerprintKind = 'root' | 'issuer';

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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meshes (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  mesh_json TEXT NOT NULL,
  creation_time TEXT NOT NULL,
  modification_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mesh_history (
  mesh TEXT NOT NULL,
  version INTEGER NOT NULL,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  forced INTEGER NOT NULL,
  mesh_json TEXT NOT NULL,
  PRIMARY KEY (mesh, version)
);
CREATE TABLE IF NOT EXISTS secrets (
  mesh TEXT NOT NULL,
  name TEXT NOT NULL,
  nonce BLOB NOT NULL,
  tag BLOB NOT NULL,
  ciphertext BLOB NOT NULL,
  creation_time TEXT NOT NULL,
  modification_time TEXT NOT NULL,
  PRIMARY KEY (mesh, name)
);
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
CREATE TABLE IF NOT EXISTS backend_fingerprints (
  mesh TEXT NOT NULL,
  kind TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  backend TEXT NOT NULL,
  PRIMARY KEY (mesh, kind, fingerprint, backend)
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

function parseStoredMesh(json: string): Mesh {
  return MeshSchema.parse(JSON.parse(json));
}

export class ControlPlaneStore {
  private readonly db: Database.Database;

  constructor(
    file: string,
    private readonly cipher: SecretCipher,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** Each SQL text is prepared once: preparing costs more than running the small queries acks and issuance make per proxy. */
  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  // ---- meshes -------------------------------------------------------------------------------

  getMesh(name: string): StoredMesh | undefined {
    const row = this.prepare('SELECT version, mesh_json, creation_time, modification_time FROM meshes WHERE name = ?').get(name) as
      | { version: number; mesh_json: string; creation_time: string; modification_time: string }
      | undefined;
    if (!row) return undefined;
    return { mesh: parseStoredMesh(row.mesh_json), version: row.version, creationTime: row.creation_time, modificationTime: row.modification_time };
  }

  listMeshes(): StoredMesh[] {
    const rows = this.prepare('SELECT name FROM meshes ORDER BY name').all() as { name: string }[];
    return rows.flatMap((r) => this.getMesh(r.name) ?? []);
  }

  meshVersion(name: string): number | undefined {
    const row = this.prepare('SELECT version FROM meshes WHERE name = ?').get(name) as { version: number } | undefined;
    return row?.version;
  }

  /**
   * Writes a new version if the mesh is still at `expectedVersion` (undefined: any version).
   * Returns the new version, or `conflict` with the current one. Also bumps the config version of
   * every proxy of the mesh, so what they receive next is newer than anything before.
   */
  writeMesh(
    mesh: Mesh,
    meta: { expectedVersion?: number; actor: string; forced: boolean; now: string },
  ): { ok: true; version: number; created: boolean } | { ok: false; currentVersion: number | undefined } {
    return this.transaction(() => {
      const current = this.getMesh(mesh.name);
      if (meta.expectedVersion !== undefined && current?.version !== meta.expectedVersion) {
        return { ok: false as const, currentVersion: current?.version };
      }
      const lastHistory = this.prepare('SELECT MAX(version) AS v FROM mesh_history WHERE mesh = ?').get(mesh.name) as { v: number | null };
      const version = Math.max(current?.version ?? 0, lastHistory.v ?? 0) + 1;
      const json = JSON.stringify(mesh);
      this.db
        .prepare(
          `INSERT INTO meshes (name, version, mesh_json, creation_time, modification_time) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET version = excluded.version, mesh_json = excluded.mesh_json, modification_time = excluded.modification_time`,
        )
        .run(mesh.name, version, json, meta.now, meta.now);
      this.db
        .prepare('INSERT INTO mesh_history (mesh, version, time, actor, forced, mesh_json) VALUES (?, ?, ?, ?, ?, ?)')
        .run(mesh.name, version, meta.now, meta.actor, meta.forced ? 1 : 0, json);
      this.prepare('UPDATE dataplanes SET config_version = config_version + 1 WHERE mesh = ?').run(mesh.name);
      return { ok: true as const, version, created: current === undefined };
    });
  }

  /** Deletes the mesh and everything it owns (history, secrets, proxies), as Kuma cascades. */
  deleteMesh(name: string): boolean {
    return this.transaction(() => {
      const deleted = this.prepare('DELETE FROM meshes WHERE name = ?').run(name).changes > 0;
      if (!deleted) return false;
      for (const table of ['mesh_history', 'secrets', 'dataplanes', 'backend_fingerprints', 'insight_seq']) {
        this.prepare(`DELETE FROM ${table} WHERE mesh = ?`).run(name);
      }
      return true;
    });
  }

  meshHistory(name: string): MeshHistoryEntry[] {
    const rows = this.prepare('SELECT version, time, actor, forced, mesh_json FROM mesh_history WHERE mesh = ? ORDER BY version').all(name) as {
      version: number;
      time: string;
      actor: string;
      forced: number;
      mesh_json: string;
    }[];
    return rows.map((r) => ({ version: r.version, time: r.time, actor: r.actor, forced: r.forced === 1, mesh: parseStoredMesh(r.mesh_json) }));
  }

  // ---- secrets ------------------------------------------------------------------------------

  getSecret(mesh: string, name: string): Buffer | undefined {
    const row = this.prepare('SELECT nonce, tag, ciphertext FROM secrets WHERE mesh = ? AND name = ?').get(mesh, name) as
      | { nonce: Buffer; tag: Buffer; ciphertext: Buffer }
      | undefined;
    return row ? this.cipher.open(row, `${mesh}/${name}`) : undefined;
  }

  putSecret(mesh: string, name: string, data: Buffer, now: string): { created: boolean } {
    const sealed = this.cipher.seal(data, `${mesh}/${name}`);
    return this.transaction(() => {
      const exists = this.prepare('SELECT 1 FROM secrets WHERE mesh = ? AND name = ?').get(mesh, name) !== undefined;
      this.db
        .prepare(
          `INSERT INTO secrets (mesh, name, nonce, tag, ciphertext, creation_time, modification_time) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (mesh, name) DO UPDATE SET nonce = excluded.nonce, tag = excluded.tag, ciphertext = excluded.ciphertext, modification_time = excluded.modification_time`,
        )
        .run(mesh, name, sealed.nonce, sealed.tag, sealed.ciphertext, now, now);
      return { created: !exists };
    });
  }

  /** First writer wins: returns what is stored afterwards. */
  putSecretIfAbsent(mesh: string, name: string, data: Buffer, now: string): Buffer {
    return this.transaction(() => {
      const existing = this.getSecret(mesh, name);
      if (existing) return existing;
      this.putSecret(mesh, name, data, now);
      return data;
    });
  }

  deleteSecret(mesh: string, name: string): boolean {
    return this.prepare('DELETE FROM secrets WHERE mesh = ? AND name = ?').run(mesh, name).changes > 0;
  }

  listSecrets(mesh: string): { name: string; creationTime: string; modificationTime: string }[] {
    const rows = this.prepare('SELECT name, creation_time, modification_time FROM secrets WHERE mesh = ? ORDER BY name').all(mesh) as {
      name: string;
      creation_time: string;
      modification_time: string;
    }[];
    return rows.map((r) => ({ name: r.name, creationTime: r.creation_time, modificationTime: r.modification_time }));
  }

  // ---- data plane proxies -------------------------------------------------------------------

  /** Registers or re-registers proxies; a changed CSR (new key) marks the certificate for re-issue. */
  registerDataplanes(registrations: readonly DataplaneRegistration[], online: (host: string) => boolean, now: string): Map<string, number> {
    const upsert = this.prepare(
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
    return this.transaction(() => {
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
  deleteDataplane(mesh: string, name: string): number | undefined {
    return this.transaction(() => {
      if (this.prepare('DELETE FROM dataplanes WHERE mesh = ? AND name = ?').run(mesh, name).changes === 0) return undefined;
      return this.bumpInsightSeqs([mesh]).get(mesh);
    });
  }

  // ---- insight sequence numbers: move on whenever a proxy's insights change ----------------

  insightSeq(mesh: string): number {
    const row = this.prepare('SELECT seq FROM insight_seq WHERE mesh = ?').get(mesh) as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  private bumpInsightSeqs(meshes: Iterable<string>): Map<string, number> {
    const bump = this.prepare('INSERT INTO insight_seq (mesh, seq) VALUES (?, 1) ON CONFLICT (mesh) DO UPDATE SET seq = seq + 1 RETURNING seq');
    const seqs = new Map<string, number>();
    for (const mesh of new Set(meshes)) seqs.set(mesh, (bump.get(mesh) as { seq: number }).seq);
    return seqs;
  }

  getDataplane(mesh: string, name: string): DataplaneRow | undefined {
    const raw = this.prepare('SELECT * FROM dataplanes WHERE mesh = ? AND name = ?').get(mesh, name) as RawDataplane | undefined;
    return raw ? toDataplane(raw) : undefined;
  }

  dataplanesOfMesh(mesh: string, page?: { offset: number; size: number }): DataplaneRow[] {
    const rows = page
      ? this.prepare('SELECT * FROM dataplanes WHERE mesh = ? ORDER BY name LIMIT ? OFFSET ?').all(mesh, page.size, page.offset)
      : this.prepare('SELECT * FROM dataplanes WHERE mesh = ? ORDER BY name').all(mesh);
    return (rows as RawDataplane[]).map(toDataplane);
  }

  /** The named proxies of `mesh` that exist, in name order. One query, whatever the mesh's size. */
  dataplanesNamed(mesh: string, names: Iterable<string>): DataplaneRow[] {
    const rows = this.prepare('SELECT * FROM dataplanes WHERE mesh = ? AND name IN (SELECT value FROM json_each(?)) ORDER BY name').all(mesh, JSON.stringify([...names])) as RawDataplane[];
    return rows.map(toDataplane);
  }

  dataplanesAfter(mesh: string, after: string | null, limit: number): DataplaneRow[] {
    const rows = this.prepare('SELECT * FROM dataplanes WHERE mesh = ? AND name > ? ORDER BY name LIMIT ?').all(mesh, after ?? '', limit);
    return (rows as RawDataplane[]).map(toDataplane);
  }

  /** True when every online proxy of the mesh reports the same mTLS state (a step has converged). */
  onlineStatesConverged(mesh: string): boolean {
    const row = this.prepare(
      'SELECT COUNT(*) AS n FROM (SELECT DISTINCT issued_backend, supported_backends FROM dataplanes WHERE mesh = ? AND online = 1)',
    ).get(mesh) as { n: number };
    return row.n <= 1;
  }

  countDataplanes(mesh: string): number {
    return (this.prepare('SELECT COUNT(*) AS n FROM dataplanes WHERE mesh = ?').get(mesh) as { n: number }).n;
  }

  dataplanesOfHost(host: string): DataplaneRow[] {
    return (this.prepare('SELECT * FROM dataplanes WHERE host = ? ORDER BY mesh, name').all(host) as RawDataplane[]).map(toDataplane);
  }

  /** Proxies of `mesh` that need a certificate from `enabledBackend`: none yet, another backend's, a new key, or near expiry. */
  dataplanesNeedingCertificate(mesh: string, enabledBackend: string, nowMs: number, limit: number, exclude: readonly string[]): DataplaneRow[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM dataplanes WHERE mesh = ? AND (cert_backend IS NULL OR cert_backend <> ? OR csr_changed = 1 OR cert_renew_after_ms <= ?)
         AND name NOT IN (SELECT value FROM json_each(?)) ORDER BY name LIMIT ?`,
      )
      .all(mesh, enabledBackend, nowMs, JSON.stringify(exclude), limit) as RawDataplane[];
    return rows.map(toDataplane);
  }

  /** Stores newly issued certificates; the proxies' config versions move on. */
  recordCertificates(issued: readonly { mesh: string; name: string; csrPem: string; certificate: IssuedCertificate }[], now: string): void {
    const update = this.prepare(
      `UPDATE dataplanes SET cert_pem = ?, cert_chain = ?, cert_backend = ?, cert_issuer_fp = ?, cert_expires_at = ?, cert_renew_after_ms = ?,
         csr_changed = CASE WHEN csr_pem = ? THEN 0 ELSE 1 END,
         config_version = config_version + 1, last_regeneration = ?, regenerations = regenerations + 1
       WHERE mesh = ? AND name = ?`,
    );
    const fingerprint = this.prepare("INSERT OR IGNORE INTO backend_fingerprints (mesh, kind, fingerprint, backend) VALUES (?, 'issuer', ?, ?)");
    this.transaction(() => {
      for (const { mesh, name, csrPem, certificate: c } of issued) {
        update.run(c.pem, JSON.stringify(c.chain), c.backend, c.issuerFingerprint, c.expiresAt, c.renewAfterMs, csrPem, now, mesh, name);
        fingerprint.run(mesh, c.issuerFingerprint, c.backend);
      }
    });
  }

  recordRootFingerprints(mesh: string, backend: string, fingerprints: readonly string[]): void {
    const insert = this.prepare("INSERT OR IGNORE INTO backend_fingerprints (mesh, kind, fingerprint, backend) VALUES (?, 'root', ?, ?)");
    this.transaction(() => {
      for (const fp of fingerprints) insert.run(mesh, fp, backend);
    });
  }

  /** Every fingerprint of `kind` ever recorded for the mesh, with the backends it belongs to. */
  fingerprints(mesh: string, kind: FingerprintKind): Map<string, string[]> {
    const rows = this.prepare('SELECT fingerprint, backend FROM backend_fingerprints WHERE mesh = ? AND kind = ?').all(mesh, kind) as {
      fingerprint: string;
      backend: string;
    }[];
    const map = new Map<string, string[]>();
    for (const r of rows) map.set(r.fingerprint, [...(map.get(r.fingerprint) ?? []), r.backend]);
    return map;
  }

  /** Applies acks; an ack older than one already applied is ignored. Returns the rows that changed and the meshes' new seqs. */
  recordInsights(updates: readonly InsightUpdate[]): { changed: DataplaneRow[]; seqs: Map<string, number> } {
    const update = this.prepare(
      'UPDATE dataplanes SET acked_version = ?, issued_backend = ?, supported_backends = ? WHERE mesh = ? AND name = ? AND acked_version <= ?',
    );
    return this.transaction(() => {
      const changed: DataplaneRow[] = [];
      for (const u of updates) {
        const result = update.run(u.ackedVersion, u.issuedBackend ?? null, JSON.stringify(u.supportedBackends), u.mesh, u.name, u.ackedVersion);
        if (result.changes > 0) {
          const row = this.getDataplane(u.mesh, u.name);
          if (row) changed.push(row);
        }
      }
      return { changed, seqs: this.bumpInsightSeqs(changed.map((r) => r.mesh)) };
    });
  }

  /** Marks every proxy of a host online or offline (its delivery stream connected or closed). */
  setHostOnline(host: string, online: boolean, now: string): { rows: DataplaneRow[]; seqs: Map<string, number> } {
    return this.transaction(() => {
      if (online) {
        this.prepare('UPDATE dataplanes SET online = 1, connect_time = ?, disconnect_time = NULL WHERE host = ?').run(now, host);
      } else {
        this.prepare('UPDATE dataplanes SET online = 0, disconnect_time = ? WHERE host = ? AND online = 1').run(now, host);
      }
      const rows = this.dataplanesOfHost(host);
      return { rows, seqs: this.bumpInsightSeqs(rows.map((r) => r.mesh)) };
    });
  }

  /** After a restart no stream is connected yet: every proxy starts offline. */
  markAllOffline(now: string): void {
    this.prepare('UPDATE dataplanes SET online = 0, disconnect_time = ? WHERE online = 1').run(now);
  }
}
