/** Meshes, with every version kept in a history (who wrote it, forced or not). */
import { type Mesh, MeshSchema } from '../mesh/schema';
import type { StoreDb } from './store-db';

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
  /** Proxies the writer left out of admission by name. */
  excluded: string[];
  mesh: Mesh;
}

/** Stores written before named exclusions existed get the column. */
export function migrateMeshSchema(db: { prepare(sql: string): { all(): unknown[] }; exec(sql: string): unknown }): void {
  const columns = db.prepare('PRAGMA table_info(mesh_history)').all() as { name: string }[];
  if (!columns.some((c) => c.name === 'excluded')) db.exec('ALTER TABLE mesh_history ADD COLUMN excluded TEXT');
}

export const MESH_SCHEMA = `
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
  excluded TEXT,
  mesh_json TEXT NOT NULL,
  PRIMARY KEY (mesh, version)
);
`;

function parseStoredMesh(json: string): Mesh {
  return MeshSchema.parse(JSON.parse(json));
}

export class MeshStore {
  constructor(
    private readonly store: StoreDb,
    /** Runs inside each write's transaction: what the mesh's proxies receive next must be newer. */
    private readonly onWrite: (mesh: string) => void,
  ) {}

  get(name: string): StoredMesh | undefined {
    const row = this.store.prepare('SELECT version, mesh_json, creation_time, modification_time FROM meshes WHERE name = ?').get(name) as
      | { version: number; mesh_json: string; creation_time: string; modification_time: string }
      | undefined;
    if (!row) return undefined;
    return { mesh: parseStoredMesh(row.mesh_json), version: row.version, creationTime: row.creation_time, modificationTime: row.modification_time };
  }

  list(): StoredMesh[] {
    const rows = this.store.prepare('SELECT name FROM meshes ORDER BY name').all() as { name: string }[];
    return rows.flatMap((r) => this.get(r.name) ?? []);
  }

  version(name: string): number | undefined {
    const row = this.store.prepare('SELECT version FROM meshes WHERE name = ?').get(name) as { version: number } | undefined;
    return row?.version;
  }

  /**
   * Writes a new version if the mesh is still at `expectedVersion` (undefined: any version).
   * Returns the new version, or `conflict` with the current one.
   */
  write(
    mesh: Mesh,
    meta: { expectedVersion?: number; actor: string; forced: boolean; excluded?: readonly string[]; now: string },
  ): { ok: true; version: number; created: boolean } | { ok: false; currentVersion: number | undefined } {
    return this.store.transaction(() => {
      const current = this.get(mesh.name);
      if (meta.expectedVersion !== undefined && current?.version !== meta.expectedVersion) {
        return { ok: false as const, currentVersion: current?.version };
      }
      const lastHistory = this.store.prepare('SELECT MAX(version) AS v FROM mesh_history WHERE mesh = ?').get(mesh.name) as { v: number | null };
      const version = Math.max(current?.version ?? 0, lastHistory.v ?? 0) + 1;
      const json = JSON.stringify(mesh);
      this.store
        .prepare(
          `INSERT INTO meshes (name, version, mesh_json, creation_time, modification_time) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET version = excluded.version, mesh_json = excluded.mesh_json, modification_time = excluded.modification_time`,
        )
        .run(mesh.name, version, json, meta.now, meta.now);
      this.store
        .prepare('INSERT INTO mesh_history (mesh, version, time, actor, forced, excluded, mesh_json) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(mesh.name, version, meta.now, meta.actor, meta.forced ? 1 : 0, JSON.stringify(meta.excluded ?? []), json);
      this.onWrite(mesh.name);
      return { ok: true as const, version, created: current === undefined };
    });
  }

  /** Removes the mesh and its history; the caller removes what else it owned in the same transaction. */
  delete(name: string): boolean {
    if (this.store.prepare('DELETE FROM meshes WHERE name = ?').run(name).changes === 0) return false;
    this.store.prepare('DELETE FROM mesh_history WHERE mesh = ?').run(name);
    return true;
  }

  history(name: string): MeshHistoryEntry[] {
    const rows = this.store.prepare('SELECT version, time, actor, forced, excluded, mesh_json FROM mesh_history WHERE mesh = ? ORDER BY version').all(name) as {
      version: number;
      time: string;
      actor: string;
      forced: number;
      excluded: string | null;
      mesh_json: string;
    }[];
    return rows.map((r) => ({
      version: r.version,
      time: r.time,
      actor: r.actor,
      forced: r.forced === 1,
      excluded: JSON.parse(r.excluded ?? '[]') as string[],
      mesh: parseStoredMesh(r.mesh_json),
    }));
  }

}
