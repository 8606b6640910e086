/** Fingerprints of roots the control plane served and issuers it signed with, mapped to backend names. */
import type { StoreDb } from './store-db';

export type FingerprintKind = 'root' | 'issuer';

export const FINGERPRINT_SCHEMA = `
CREATE TABLE IF NOT EXISTS backend_fingerprints (
  mesh TEXT NOT NULL,
  kind TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  backend TEXT NOT NULL,
  PRIMARY KEY (mesh, kind, fingerprint, backend)
);
`;

export class FingerprintStore {
  constructor(private readonly store: StoreDb) {}

  record(mesh: string, kind: FingerprintKind, backend: string, fingerprints: readonly string[]): void {
    const insert = this.store.prepare('INSERT OR IGNORE INTO backend_fingerprints (mesh, kind, fingerprint, backend) VALUES (?, ?, ?, ?)');
    this.store.transaction(() => {
      for (const fp of fingerprints) insert.run(mesh, kind, fp, backend);
    });
  }

  /** Every fingerprint of `kind` ever recorded for the mesh, with the backends it belongs to. */
  of(mesh: string, kind: FingerprintKind): Map<string, string[]> {
    const rows = this.store.prepare('SELECT fingerprint, backend FROM backend_fingerprints WHERE mesh = ? AND kind = ?').all(mesh, kind) as {
      fingerprint: string;
      backend: string;
    }[];
    const map = new Map<string, string[]>();
    for (const r of rows) map.set(r.fingerprint, [...(map.get(r.fingerprint) ?? []), r.backend]);
    return map;
  }

  forgetMesh(mesh: string): void {
    this.store.prepare('DELETE FROM backend_fingerprints WHERE mesh = ?').run(mesh);
  }
}
