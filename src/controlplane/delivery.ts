/**
 * Delivery of proxy configs over one Server-Sent Events stream per host. Each event is a proxy's
 * complete config (trust bundle of every backend + identity certificate from the enabled one).
 * A push builds the mesh's trust bundle once, then writes every affected host's events in one write.
 * Reading the proxies and writing their events happens without an await in between, so the order of
 * events on a stream always follows the order of states in the store.
 */
import type { ServerResponse } from 'node:http';
import type { CaAccess, MeshMaterial } from './ca-access';
import type { ControlPlaneStore, DataplaneRow } from './store';

const HEARTBEAT_MS = 15_000;
/** One host needs one stream (a reconnect may overlap the old one briefly); more would only hold connections. */
export const MAX_STREAMS_PER_HOST = 4;

export interface HostPresenceListener {
  (change: { host: string; online: boolean; rows: DataplaneRow[]; seqs: Map<string, number> }): void;
}

export class Delivery {
  private readonly streams = new Map<string, Set<ServerResponse>>();
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly store: ControlPlaneStore,
    private readonly ca: CaAccess,
    private readonly onPresence: HostPresenceListener,
    private readonly log: (line: string) => void,
  ) {
    this.heartbeat = setInterval(() => this.writeAll(': keep-alive\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  streamCount(host: string): number {
    return this.streams.get(host)?.size ?? 0;
  }

  isConnected(host: string): boolean {
    return (this.streams.get(host)?.size ?? 0) > 0;
  }

  /** Serves `GET /dp/v1/stream?host=`: marks the host's proxies online and sends each its current config. */
  attach(host: string, res: ServerResponse): void {
    if (this.closed) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': connected\n\n');
    let set = this.streams.get(host);
    const firstStream = !set || set.size === 0;
    if (!set) {
      set = new Set();
      this.streams.set(host, set);
    }
    set.add(res);
    res.on('close', () => this.detach(host, res));
    if (firstStream) this.onPresence({ host, online: true, ...this.presence(host, true) });
    this.sendHostSnapshot(host, res).catch((err: unknown) => this.log(`delivery: cannot send the configs of host "${host}": ${String(err)}`));
  }

  /** Pushes the current config of every proxy of `mesh` (or only `names`) whose host is connected. */
  async pushMesh(mesh: string, names?: ReadonlySet<string>): Promise<void> {
    if (this.streams.size === 0) return;
    const material = await this.currentMaterial(mesh);
    if (!material) return;
    const byHost = new Map<string, string[]>();
    // Issuance pushes each batch it signed: reading only those rows keeps a 10,000-proxy re-issue linear.
    for (const row of names ? this.store.dataplanes.named(mesh, names) : this.store.dataplanes.ofMesh(mesh)) {
      if (!this.isConnected(row.host)) continue;
      let chunks = byHost.get(row.host);
      if (!chunks) byHost.set(row.host, (chunks = []));
      chunks.push(configEvent(row, material));
    }
    for (const [host, chunks] of byHost) this.writeHost(host, chunks.join(''));
  }

  /** Ends every stream; proxies are not marked offline here (the next start does that for all). */
  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const set of this.streams.values()) for (const res of set) res.end();
    this.streams.clear();
  }

  private presence(host: string, online: boolean): { rows: DataplaneRow[]; seqs: Map<string, number> } {
    return this.store.dataplanes.setHostOnline(host, online, new Date().toISOString());
  }

  private detach(host: string, res: ServerResponse): void {
    if (this.closed) return;
    const set = this.streams.get(host);
    if (!set?.delete(res)) return;
    if (set.size === 0) {
      this.streams.delete(host);
      this.onPresence({ host, online: false, ...this.presence(host, false) });
    }
  }

  private async sendHostSnapshot(host: string, res: ServerResponse): Promise<void> {
    for (;;) {
      const meshes = [...new Set(this.store.dataplanes.ofHost(host).map((r) => r.mesh))];
      const materials = new Map<string, MeshMaterial>();
      for (const mesh of meshes) {
        const material = await this.ca.material(mesh);
        if (material) materials.set(mesh, material);
      }
      // A mesh changed during the awaits: start over, so no event pairs a new version with an old bundle.
      if ([...materials.values()].some((m) => m.version !== this.store.meshes.version(m.mesh))) continue;
      const chunks: string[] = [];
      for (const row of this.store.dataplanes.ofHost(host)) {
        const material = materials.get(row.mesh);
        if (material) chunks.push(configEvent(row, material));
      }
      if (chunks.length > 0 && !res.writableEnded) res.write(chunks.join(''));
      return;
    }
  }

  /** The material of the mesh's version as stored right now (the loop covers a write during the await). */
  private async currentMaterial(mesh: string): Promise<MeshMaterial | undefined> {
    for (;;) {
      const material = await this.ca.material(mesh);
      if (!material || material.version === this.store.meshes.version(mesh)) return material;
    }
  }

  private writeHost(host: string, data: string): void {
    for (const res of this.streams.get(host) ?? []) if (!res.writableEnded) res.write(data);
  }

  private writeAll(data: string): void {
    for (const host of this.streams.keys()) this.writeHost(host, data);
  }
}

/** One SSE event; the trust bundle JSON is shared by every proxy of the mesh version. */
function configEvent(row: DataplaneRow, material: MeshMaterial): string {
  const certificate =
    material.enabledBackend !== undefined && row.certificate
      ? JSON.stringify({ pem: row.certificate.pem, chain: row.certificate.chain, backend: row.certificate.backend, expiresAt: row.certificate.expiresAt })
      : 'null';
  return `data: {"mesh":${JSON.stringify(row.mesh)},"name":${JSON.stringify(row.name)},"version":${row.configVersion},"trustBundle":${material.trustBundleJson},"certificate":${certificate}}\n\n`;
}
