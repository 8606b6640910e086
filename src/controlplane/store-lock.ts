/**
 * One control plane per store. A second process on the same store would mark every live proxy
 * offline, re-issue certificates and answer admission from a store it does not own, so it must
 * refuse to start before it opens (let alone migrates) the store.
 *
 * The lock is an exclusive SQLite lock on `<store>.lock`, held by an open connection for the control
 * plane's lifetime: the kernel releases it when the process dies (kill -9 included), so there are no
 * stale locks to clean up and no window between checking and taking it. Who holds it is written next
 * to it (`<store>.lock.owner`, JSON) so the refusal can name the running control plane.
 */
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';

const OwnerSchema = z.object({ pid: z.number().int(), hostname: z.string(), startedAt: z.string(), url: z.string().optional() });
export type StoreOwner = z.infer<typeof OwnerSchema>;

export class StoreLockedError extends Error {
  constructor(
    readonly store: string,
    readonly owner: StoreOwner | undefined,
  ) {
    super(
      `another control plane is running on store ${store}` +
        (owner ? ` (pid ${owner.pid} on ${owner.hostname}${owner.url ? `, serving ${owner.url}` : ''}, started ${owner.startedAt})` : '') +
        ': stop it first, or give this one another --db',
    );
    this.name = 'StoreLockedError';
  }
}

export interface StoreLock {
  /** Records the URL the control plane serves, for the message a second one prints. */
  announce(url: string): void;
  release(): void;
}

export function lockFileFor(dbFile: string): string {
  return `${dbFile}.lock`;
}

function ownerFileFor(dbFile: string): string {
  return `${dbFile}.lock.owner`;
}

/** Takes the store's lock or throws StoreLockedError naming the holder. Nothing of the store is touched. */
export function lockStore(dbFile: string): StoreLock {
  const lockDb = new Database(lockFileFor(dbFile), { timeout: 0 });
  try {
    lockDb.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in exclusive locking mode it is kept until close.
    lockDb.exec('CREATE TABLE IF NOT EXISTS held (id INTEGER PRIMARY KEY); INSERT OR REPLACE INTO held (id) VALUES (1)');
  } catch (error) {
    lockDb.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY' || (error as { code?: string }).code === 'SQLITE_LOCKED') {
      throw new StoreLockedError(dbFile, readOwner(dbFile));
    }
    throw error;
  }
  const owner: StoreOwner = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() };
  const writeOwner = () => writeFileSync(ownerFileFor(dbFile), `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  writeOwner();
  let released = false;
  return {
    announce(url) {
      owner.url = url;
      writeOwner();
    },
    release() {
      if (released) return;
      released = true;
      lockDb.close();
    },
  };
}

function readOwner(dbFile: string): StoreOwner | undefined {
  try {
    const parsed = OwnerSchema.safeParse(JSON.parse(readFileSync(ownerFileFor(dbFile), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
