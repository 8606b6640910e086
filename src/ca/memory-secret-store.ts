/** A SecretStore in memory: the CLI's offline validation and tests. */
import type { SecretStore } from './types';

export class MemorySecretStore implements SecretStore {
  private readonly secrets = new Map<string, Buffer>();

  constructor(initial: Iterable<{ mesh: string; name: string; data: Buffer }> = []) {
    for (const s of initial) this.secrets.set(MemorySecretStore.key(s.mesh, s.name), Buffer.from(s.data));
  }

  private static key(mesh: string, name: string): string {
    return `${mesh}\u0000${name}`;
  }

  async get(mesh: string, name: string): Promise<Buffer | undefined> {
    const value = this.secrets.get(MemorySecretStore.key(mesh, name));
    return value && Buffer.from(value);
  }

  async putIfAbsent(mesh: string, name: string, data: Buffer): Promise<Buffer> {
    const key = MemorySecretStore.key(mesh, name);
    if (!this.secrets.has(key)) this.secrets.set(key, Buffer.from(data));
    return Buffer.from(this.secrets.get(key) as Buffer);
  }

  /** Sets or replaces a secret (tests, and the CLI loading Secret documents). */
  set(mesh: string, name: string, data: Buffer): void {
    this.secrets.set(MemorySecretStore.key(mesh, name), Buffer.from(data));
  }

  names(mesh: string): string[] {
    const prefix = `${mesh}\u0000`;
    return [...this.secrets.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }
}
