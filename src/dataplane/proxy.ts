/**
 * One data plane proxy: its key (kept in this process), its registration, and the TLS config it applies.
 * Applying a config swaps the context used for *new* handshakes only; live connections keep the
 * context they were established with, so nothing in flight is dropped. A config counts as swapped in
 * (and may be acked) only once no handshake begun under an older config is still running: such a
 * handshake would still present the old certificate or verify with the old bundle, after the gates
 * had been told this proxy had moved on.
 */
import type { ProxyAckMessage, ProxyConfigEvent, ProxyRegistration } from '../mesh/dataplane-api';
import { ProxyKey, type ProxyKeyType } from './identity';
import { spiffeId } from './spiffe';
import { buildTlsConfig, configDigest, type AppliedTlsConfig } from './tls-context';

export const SERVICE_TAG = 'kuma.io/service';

export interface ProxyDescriptor {
  mesh: string;
  name: string;
  /** Value of the `kuma.io/service` tag. */
  service: string;
  address: string;
  port: number;
  /** Extra tags; `kuma.io/service` is always set from `service`. */
  tags?: Record<string, string>;
  /** TLS server name that routes a connection on the shared listener to this proxy. */
  serverName: string;
}

export interface ProxyStatus {
  mesh: string;
  name: string;
  service: string;
  /** Version of the config in use, when one was applied. */
  appliedVersion?: number;
  /** Highest version the control plane accepted an ack for. */
  ackedVersion?: number;
  hasCertificate: boolean;
  trustedRootFingerprints: string[];
  certificateIssuerFingerprint: string | null;
  certificateExpiresAt?: string;
}

export class DataplaneProxy {
  private applied: AppliedTlsConfig | undefined;
  private acked: number | undefined;
  private readonly csrPem: string;
  /** Handshakes in flight (as client or server), by the content digest of the config they began under. */
  private readonly handshakesInFlight = new Map<string, number>();
  private swappedInCallbacks: (() => void)[] = [];

  private constructor(
    readonly descriptor: ProxyDescriptor,
    private readonly key: ProxyKey,
  ) {
    this.csrPem = key.createCsrPem(descriptor.name);
  }

  static async create(descriptor: ProxyDescriptor, keyType: ProxyKeyType = 'ecdsa-p256'): Promise<DataplaneProxy> {
    return new DataplaneProxy(descriptor, await ProxyKey.generate(keyType));
  }

  get name(): string {
    return this.descriptor.name;
  }

  get spiffeId(): string {
    return spiffeId(this.descriptor.mesh, this.descriptor.service);
  }

  /** The context for the next handshake, as server or client; undefined before the first config. */
  get currentTls(): AppliedTlsConfig | undefined {
    return this.applied;
  }

  get hasCertificate(): boolean {
    return this.applied?.certificate != null;
  }

  /** Has a certificate, and the control plane accepted the ack of the config in use. */
  get ready(): boolean {
    return this.hasCertificate && this.applied !== undefined && this.acked === this.applied.version;
  }

  registration(): ProxyRegistration {
    const { mesh, name, address, port, service, tags } = this.descriptor;
    return { mesh, name, address, port, tags: { ...tags, [SERVICE_TAG]: service }, csr: this.csrPem };
  }

  /**
   * Swaps in the config for new handshakes; returns its ack, to send once the config is swapped in
   * (`whenSwappedIn`). Throws (leaving the old context in place) when the config cannot be used, so a
   * broken config is never acked.
   */
  applyConfig(config: ProxyConfigEvent): ProxyAckMessage {
    if (config.mesh !== this.descriptor.mesh || config.name !== this.descriptor.name) {
      throw new Error(`config for ${config.mesh}/${config.name} delivered to ${this.descriptor.mesh}/${this.descriptor.name}`);
    }
    // The control plane re-sends every config when the stream reconnects: keep the context, ack again.
    const previous = this.applied;
    this.applied =
      previous && previous.contentDigest === configDigest(config) ? previous.withVersion(config.version) : buildTlsConfig(config, this.key, previous);
    return this.ackMessage();
  }

  /**
   * Starts a handshake (as client or server) under the config in use; call `end` when it completes,
   * fails or is abandoned (calling it again does nothing). Undefined before the first config.
   */
  beginHandshake(): { tls: AppliedTlsConfig; end: () => void } | undefined {
    const tls = this.applied;
    if (!tls) return undefined;
    const digest = tls.contentDigest;
    this.handshakesInFlight.set(digest, (this.handshakesInFlight.get(digest) ?? 0) + 1);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const left = (this.handshakesInFlight.get(digest) ?? 1) - 1;
      if (left > 0) this.handshakesInFlight.set(digest, left);
      else this.handshakesInFlight.delete(digest);
      if (this.swappedInCallbacks.length > 0 && this.swappedIn) {
        const callbacks = this.swappedInCallbacks;
        this.swappedInCallbacks = [];
        for (const callback of callbacks) callback();
      }
    };
    return { tls, end };
  }

  /** No handshake begun under an older config is still running: every handshake from now on uses the config in use. */
  get swappedIn(): boolean {
    const current = this.applied?.contentDigest;
    for (const digest of this.handshakesInFlight.keys()) if (digest !== current) return false;
    return true;
  }

  /** Calls `callback` once the config in use is swapped in: at once when it already is. */
  whenSwappedIn(callback: () => void): void {
    if (this.swappedIn) callback();
    else this.swappedInCallbacks.push(callback);
  }

  ackMessage(): ProxyAckMessage {
    const applied = this.applied;
    if (!applied) throw new Error(`${this.name} has no config to ack`);
    return {
      mesh: this.descriptor.mesh,
      name: this.descriptor.name,
      version: applied.version,
      trustedRootFingerprints: applied.trustedRootFingerprints,
      certificateIssuerFingerprint: applied.certificateIssuerFingerprint,
    };
  }

  /** Acks are delivered in order (one batch in flight per host), so the last delivered one is current. */
  markAcked(version: number): void {
    this.acked = version;
  }

  status(): ProxyStatus {
    const applied = this.applied;
    return {
      mesh: this.descriptor.mesh,
      name: this.descriptor.name,
      service: this.descriptor.service,
      appliedVersion: applied?.version,
      ackedVersion: this.acked,
      hasCertificate: this.hasCertificate,
      trustedRootFingerprints: applied?.trustedRootFingerprints ?? [],
      certificateIssuerFingerprint: applied?.certificateIssuerFingerprint ?? null,
      certificateExpiresAt: applied?.certificate ? new Date(applied.certificate.validTo).toISOString() : undefined,
    };
  }

  toJSON(): object {
    return { name: this.name, mesh: this.descriptor.mesh, service: this.descriptor.service };
  }
}
