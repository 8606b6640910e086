/** Secrets, sealed at rest with the store's key (the secret's mesh/name bound as associated data). */
import { type SecretCipher, StoreKeyError } from './secret-crypto';
import type { StoreDb } from './store-db';

export const SECRET_SCHEMA = `
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
CREATE TABLE IF NOT EXISTS secret_key_check (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  nonce BLOB NOT NULL,
  tag BLOB NOT NULL,
  ciphertext BLOB NOT NULL
);
`;

const KEY_CHECK = 'secret-key-check';

export interface SecretListing {
  name: string;
  creationTime: string;
  modificationTime: string;
}

export class SecretStore {
  constructor(
    private readonly store: StoreDb,
    private readonly cipher: SecretCipher,
  ) {}

  /** Refuses a key other than the one the store was written with (checked on a sealed marker, or on the first secret of an older store). */
  verifyKey(storeFile: string): void {
    const wrongKey = new StoreKeyError(`the secret key does not match the one ${storeFile} was written with: restore the right key file or CA_ROTATE_SECRET_KEY`);
    const check = this.store.prepare('SELECT nonce, tag, ciphertext FROM secret_key_check WHERE id = 1').get() as { nonce: Buffer; tag: Buffer; ciphertext: Buffer } | undefined;
    try {
      if (check) {
        this.cipher.open(check, KEY_CHECK);
        return;
      }
      const first = this.store.prepare('SELECT mesh, name FROM secrets LIMIT 1').get() as { mesh: string; name: string } | undefined;
      if (first) this.get(first.mesh, first.name);
    } catch {
      throw wrongKey;
    }
    const sealed = this.cipher.seal(Buffer.from(KEY_CHECK), KEY_CHECK);
    this.store.prepare('INSERT OR IGNORE INTO secret_key_check (id, nonce, tag, ciphertext) VALUES (1, ?, ?, ?)').run(sealed.nonce, sealed.tag, sealed.ciphertext);
  }

  get(mesh: string, name: string): Buffer | undefined {
    const row = this.store.prepare('SELECT nonce, tag, ciphertext FROM secrets WHERE mesh = ? AND name = ?').get(mesh, name) as
      | { nonce: Buffer; tag: Buffer; ciphertext: Buffer }
      | undefined;
    return row ? this.cipher.open(row, `${mesh}/${name}`) : undefined;
  }

  put(mesh: string, name: string, data: Buffer, now: string): { created: boolean } {
    const sealed = this.cipher.seal(data, `${mesh}/${name}`);
    return this.store.transaction(() => {
      const exists = this.store.prepare('SELECT 1 FROM secrets WHERE mesh = ? AND name = ?').get(mesh, name) !== undefined;
      this.store
        .prepare(
          `INSERT INTO secrets (mesh, name, nonce, tag, ciphertext, creation_time, modification_time) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (mesh, name) DO UPDATE SET nonce = excluded.nonce, tag = excluded.tag, ciphertext = excluded.ciphertext, modification_time = excluded.modification_time`,
        )
        .run(mesh, name, sealed.nonce, sealed.tag, sealed.ciphertext, now, now);
      return { created: !exists };
    });
  }

  /** First writer wins: returns what is stored afterwards. */
  putIfAbsent(mesh: string, name: string, data: Buffer, now: string): Buffer {
    return this.store.transaction(() => {
      const existing = this.get(mesh, name);
      if (existing) return existing;
      this.put(mesh, name, data, now);
      return data;
    });
  }

  delete(mesh: string, name: string): boolean {
    return this.store.prepare('DELETE FROM secrets WHERE mesh = ? AND name = ?').run(mesh, name).changes > 0;
  }

  list(mesh: string): SecretListing[] {
    const rows = this.store.prepare('SELECT name, creation_time, modification_time FROM secrets WHERE mesh = ? ORDER BY name').all(mesh) as {
      name: string;
      creation_time: string;
      modification_time: string;
    }[];
    return rows.map((r) => ({ name: r.name, creationTime: r.creation_time, modificationTime: r.modification_time }));
  }

  forgetMesh(mesh: string): void {
    this.store.prepare('DELETE FROM secrets WHERE mesh = ?').run(mesh);
  }
}
