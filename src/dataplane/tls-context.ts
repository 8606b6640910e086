/**
 * Turns a proxy's config (trust bundle + identity certificate) and its key into a TLS SecureContext,
 * and computes what the proxy acks: fingerprints of the roots it trusts and of its certificate's issuer.
 * Fingerprints are computed here from the PEMs actually loaded, never copied from the control plane.
 */
import { X509Certificate, constants as cryptoConstants, createHash } from 'node:crypto';
import tls from 'node:tls';
import { sha256Fingerprint as sha256DerFingerprint } from '../pki/certificate';
import type { ProxyConfigEvent } from '../mesh/dataplane-api';
import type { ProxyKey } from './identity';

export interface AppliedTlsConfig {
  readonly version: number;
  /**
   * Used for every new handshake (served and initiated) until the next config replaces it. Built on first
   * use, from the PEMs checked when the config was applied: a host of 10,000 proxies would otherwise build
   * 10,000 contexts (a few ms of OpenSSL each) per rotation step for proxies that may not handshake at all.
   */
  readonly secureContext: tls.SecureContext;
  readonly trustedRootFingerprints: string[];
  readonly certificateIssuerFingerprint: string | null;
  /** The leaf, parsed, when the proxy has one. */
  readonly certificate: X509Certificate | null;
  /** Stable digest of the inputs: an identical re-sent config reuses the context. */
  readonly contentDigest: string;
  /** The same config re-sent under another version: shares the context. */
  withVersion(version: number): AppliedTlsConfig;
}

/** SHA-256 of the DER, hex lower case (the form the control plane maps to backends). */
export function sha256Fingerprint(certificate: X509Certificate): string {
  return sha256DerFingerprint(certificate.raw);
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitPemCertificates(pem: string): X509Certificate[] {
  return (pem.match(PEM_BLOCK) ?? []).map((block) => new X509Certificate(block));
}

export function configDigest(config: ProxyConfigEvent): string {
  const hash = createHash('sha256');
  for (const entry of config.trustBundle) hash.update(entry.pem).update('\0');
  hash.update('|');
  if (config.certificate) {
    hash.update(config.certificate.pem);
    for (const pem of config.certificate.chain) hash.update('\0').update(pem);
  }
  return hash.digest('hex');
}

// No session tickets: every connection runs a full handshake against the current certificates.
const SECURE_OPTIONS = cryptoConstants.SSL_OP_NO_TICKET;

interface FingerprintedCertificate {
  certificate: X509Certificate;
  fingerprint: string;
}

interface ParsedTrustBundle {
  roots: FingerprintedCertificate[];
  caPems: string[];
  trustedRootFingerprints: string[];
}

/**
 * Every proxy of a mesh receives the same trust bundle: a host parses each bundle once, not once per
 * proxy. A few entries cover a rotation's bundles (old, both, new); parsed certificates are immutable.
 */
const TRUST_BUNDLE_CACHE_SIZE = 8;
const parsedTrustBundles = new Map<string, ParsedTrustBundle>();

function parseTrustBundle(trustBundle: ProxyConfigEvent['trustBundle']): ParsedTrustBundle {
  const cacheKey = trustBundle.map((entry) => entry.pem).join('\0');
  const cached = parsedTrustBundles.get(cacheKey);
  if (cached) return cached;
  const roots = trustBundle.flatMap((entry) => splitPemCertificates(entry.pem)).map((certificate) => ({ certificate, fingerprint: sha256Fingerprint(certificate) }));
  if (roots.length === 0) throw new Error('trust bundle holds no certificate');
  const parsed: ParsedTrustBundle = {
    roots,
    caPems: roots.map((root) => root.certificate.toString()),
    trustedRootFingerprints: [...new Set(roots.map((root) => root.fingerprint))].sort(),
  };
  if (parsedTrustBundles.size >= TRUST_BUNDLE_CACHE_SIZE) parsedTrustBundles.delete(parsedTrustBundles.keys().next().value as string);
  parsedTrustBundles.set(cacheKey, parsed);
  return parsed;
}

/** The identity part of a config, parsed and checked against the proxy key. */
interface ParsedIdentity {
  /** PEM of the leaf and its chain as delivered: an unchanged certificate is not parsed again. */
  input: string;
  leaf: X509Certificate;
  chain: FingerprintedCertificate[];
  certificateChainPem: string;
  issuer: FingerprintedCertificate | undefined;
}

class AppliedTls implements AppliedTlsConfig {
  constructor(
    readonly version: number,
    private readonly lazyContext: { get(): tls.SecureContext },
    readonly trustedRootFingerprints: string[],
    readonly identity: ParsedIdentity | undefined,
    readonly contentDigest: string,
  ) {}

  get secureContext(): tls.SecureContext {
    return this.lazyContext.get();
  }

  get certificate(): X509Certificate | null {
    return this.identity?.leaf ?? null;
  }

  get certificateIssuerFingerprint(): string | null {
    return this.identity?.issuer?.fingerprint ?? null;
  }

  withVersion(version: number): AppliedTlsConfig {
    return new AppliedTls(version, this.lazyContext, this.trustedRootFingerprints, this.identity, this.contentDigest);
  }
}

function lazily(build: () => tls.SecureContext): { get(): tls.SecureContext } {
  let context: tls.SecureContext | undefined;
  return { get: () => (context ??= build()) };
}

function parseIdentity(certificate: NonNullable<ProxyConfigEvent['certificate']>, key: ProxyKey, roots: readonly FingerprintedCertificate[], previous: ParsedIdentity | undefined): ParsedIdentity {
  const input = [certificate.pem, ...certificate.chain].join('\0');
  let leaf: X509Certificate;
  let chain: FingerprintedCertificate[];
  if (previous?.input === input) {
    ({ leaf, chain } = previous);
  } else {
    const [parsedLeaf, ...leafPemExtras] = splitPemCertificates(certificate.pem);
    if (!parsedLeaf) throw new Error('identity certificate PEM holds no certificate');
    if (!parsedLeaf.publicKey.equals(key.publicKey)) throw new Error('identity certificate does not match the proxy key');
    leaf = parsedLeaf;
    chain = [...leafPemExtras, ...certificate.chain.flatMap(splitPemCertificates)].map((c) => ({ certificate: c, fingerprint: sha256Fingerprint(c) }));
  }
  // The issuer: looked up in the chain first, then among the trusted roots. The issuer found for this
  // very leaf before needs no second signature check.
  const knownIssuer = previous?.input === input ? previous.issuer?.fingerprint : undefined;
  const issuer = [...chain, ...roots].find(
    (candidate) => candidate.fingerprint === knownIssuer || (leaf.checkIssued(candidate.certificate) && leaf.verify(candidate.certificate.publicKey)),
  );
  const certificateChainPem = previous?.input === input ? previous.certificateChainPem : [leaf, ...chain.map((c) => c.certificate)].map((c) => c.toString()).join('');
  return { input, leaf, chain, certificateChainPem, issuer };
}

/**
 * Checks the config and computes what the proxy acks; throws (so the config is never acked) when the
 * bundle holds no certificate or the identity certificate does not parse or match the proxy key.
 * `previous` (the proxy's config in use) lets an unchanged certificate skip parsing and verification.
 */
export function buildTlsConfig(config: ProxyConfigEvent, key: ProxyKey, previous?: AppliedTlsConfig): AppliedTlsConfig {
  const bundle = parseTrustBundle(config.trustBundle);
  const contentDigest = configDigest(config);
  if (!config.certificate) {
    const context = lazily(() => tls.createSecureContext({ ca: bundle.caPems, secureOptions: SECURE_OPTIONS, minVersion: 'TLSv1.2' }));
    return new AppliedTls(config.version, context, bundle.trustedRootFingerprints, undefined, contentDigest);
  }
  const identity = parseIdentity(config.certificate, key, bundle.roots, previous instanceof AppliedTls ? previous.identity : undefined);
  const context = lazily(() =>
    tls.createSecureContext({ key: key.tlsKeyPem(), cert: identity.certificateChainPem, ca: bundle.caPems, secureOptions: SECURE_OPTIONS, minVersion: 'TLSv1.2' }),
  );
  return new AppliedTls(config.version, context, bundle.trustedRootFingerprints, identity, contentDigest);
}
