/**
 * The control plane's state in one SQLite file (WAL), or only in memory (Kubernetes mode), in parts by
 * what they hold: meshes with every version kept, secrets encrypted at rest, data plane proxies with
 * their certificates and insights, and the fingerprints that map what a proxy reports back to backend names.
 * Synchronous (better-sqlite3); every multi-row write runs in one transaction.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, constants, existsSync, openSync } from 'node:fs';
import { refuseSymlink } from './private-files';
import type { SecretCipher } from './secret-crypto';
import { StoreDb } from './store-db';
import { DATAPLANE_SCHEMA, DataplaneStore } from './store-dataplanes';
import { FINGERPRINT_SCHEMA, FingerprintStore } from './store-fingerprints';
import { MESH_SCHEMA, MeshStore, migrateMeshSchema } from './store-meshes';
import { SECRET_SCHEMA, SecretStore } from './store-secrets';

export type { DataplaneRegistration, DataplaneRow, InsightUpdate, IssuedCertificate } from './store-dataplanes';
export type { FingerprintKind } from './store-fingerprints';
export type { MeshHistoryEntry, StoredMesh } from './store-meshes';

export class ControlPlaneStore {
  private readonly db: Database.Database;
  private readonly store: StoreDb;
  readonly meshes: MeshStore;
  readonly secrets: SecretStore;
  readonly dataplanes: DataplaneStore;
  readonly fingerprints: FingerprintStore;

  /**
   * `file`: the durable store (created 0600, never through a link). `memory`: nothing on disk, for a
   * control plane whose Meshes and Secrets live elsewhere and are read again on every start.
   */
  constructor(location: { file: string } | { memory: true }, cipher: SecretCipher) {
    const file = 'file' in location ? location.file : undefined;
    // SQLite gives the WAL and shared-memory files the database file's mode: 0600 for all three.
    const parts = file ? [file, `${file}-wal`, `${file}-shm`] : [];
    for (const part of parts) refuseSymlink(part, 'store file');
    if (file && !existsSync(file)) closeSync(openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
    this.db = new Database(file ?? ':memory:');
    if (file) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
    }
    this.db.exec(MESH_SCHEMA + SECRET_SCHEMA + DATAPLANE_SCHEMA + FINGERPRINT_SCHEMA);
    migrateMeshSchema(this.db);
    this.store = new StoreDb(this.db);
    this.fingerprints = new FingerprintStore(this.store);
    this.dataplanes = new DataplaneStore(this.store, this.fingerprints);
    this.secrets = new SecretStore(this.store, cipher);
    this.meshes = new MeshStore(this.store, (mesh) => this.dataplanes.meshChanged(mesh));
    for (const part of parts) if (existsSync(part)) chmodSync(part, 0o600);
    try {
      // A new in-memory store holds nothing sealed under another key: only a file can mismatch.
      if (file) this.secrets.verifyKey(file);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(work: () => T): T {
    return this.store.transaction(work);
  }

  /** Deletes the mesh and everything it owns (history, secrets, proxies, fingerprints), as Kuma cascades. */
  deleteMesh(name: string): boolean {
    return this.store.transaction(() => {
      if (!this.meshes.delete(name)) return false;
      this.secrets.forgetMesh(name);
      this.dataplanes.forgetMesh(name);
      this.fingerprints.forgetMesh(name);
      return true;
    });
  }
}
