/**
 * Turns proxy acks into insights. A proxy reports fingerprints only; which backends they belong to
 * is decided here, from roots the control plane served and issuers of certificates it signed, so a
 * proxy's own words never name a backend.
 */
import type { CaAccess } from './ca-access';
import type { ControlPlaneStore, DataplaneRow, InsightUpdate } from './store';

export interface ProxyAckInput {
  mesh: string;
  name: string;
  version: number;
  trustedRootFingerprints: string[];
  certificateIssuerFingerprint: string | null;
}

export class AckRecorder {
  constructor(
    private readonly store: ControlPlaneStore,
    private readonly ca: CaAccess,
  ) {}

  /** Records the acks; returns the proxies whose insights were applied and the meshes' new insight seqs. */
  async record(acks: readonly ProxyAckInput[]): Promise<{ changed: DataplaneRow[]; seqs: Map<string, number> }> {
    const updates: InsightUpdate[] = [];
    for (const [mesh, meshAcks] of groupBy(acks, (a) => a.mesh)) {
      const mapper = await this.fingerprintMapper(mesh);
      if (!mapper) continue;
      for (const ack of meshAcks) {
        updates.push({
          mesh,
          name: ack.name,
          ackedVersion: ack.version,
          supportedBackends: mapper.supportedBackends(ack.trustedRootFingerprints),
          issuedBackend: ack.certificateIssuerFingerprint ? mapper.issuedBackend(ack.certificateIssuerFingerprint) : undefined,
        });
      }
    }
    return this.store.dataplanes.recordInsights(updates);
  }

  private async fingerprintMapper(mesh: string): Promise<FingerprintMapper | undefined> {
    const material = await this.ca.material(mesh);
    if (!material) return undefined;
    // Roots of backends no longer in the mesh, as served earlier: a proxy may still trust them.
    const formerRoots = new Map<string, Set<string>>();
    for (const [fingerprint, backends] of this.store.fingerprints.of(mesh, 'root')) {
      for (const backend of backends) {
        if (material.rootFingerprints.has(backend)) continue;
        let set = formerRoots.get(backend);
        if (!set) formerRoots.set(backend, (set = new Set()));
        set.add(fingerprint);
      }
    }
    const issuers = this.store.fingerprints.of(mesh, 'issuer');
    const enabled = material.enabledBackend;
    return {
      supportedBackends(trusted) {
        const trustedSet = new Set(trusted);
        const supported: string[] = [];
        // A current backend is supported when every one of its roots is trusted.
        for (const [backend, roots] of material.rootFingerprints) {
          if (roots.length > 0 && roots.every((fp) => trustedSet.has(fp))) supported.push(backend);
        }
        for (const [backend, roots] of formerRoots) {
          if ([...roots].some((fp) => trustedSet.has(fp))) supported.push(backend);
        }
        return supported.sort();
      },
      issuedBackend(fingerprint) {
        const backends = issuers.get(fingerprint);
        if (!backends || backends.length === 0) return undefined;
        return backends.find((b) => b === enabled) ?? backends.find((b) => material.rootFingerprints.has(b)) ?? backends[0];
      },
    };
  }
}

interface FingerprintMapper {
  supportedBackends(trusted: readonly string[]): string[];
  issuedBackend(issuerFingerprint: string): string | undefined;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    let group = groups.get(k);
    if (!group) groups.set(k, (group = []));
    group.push(item);
  }
  return groups;
}
