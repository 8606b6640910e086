/**
 * Turns a proxy's config (trust bundle + identity certificate) and its key into a TLS SecureContext,
 * and computes what the proxy acks: fingerprints of the roots it trusts and of its certificate's issuer.
 * Fingerprints are computed here from the PEMs actually loaded, never copied from the control plane.
 */
import { X509Certificate, constants as cryptoConstants, createHash } from 'node:crypto';
import tls from 'node:tls';
import { sha256Fingerprint as sha256DerFingerprint } from '../pki/certificate';
import type { ProxyConfigEvent } from './config';
import type { ProxyKey } from './identity';

export interface AppliedTlsConfig {
  version: number;
  /** Used for every new handshake (served and initiated) until the next config replaces it. */
  secureContext: tls.SecureContext;
  trustedRootFingerprints: string[];
  certificateIssuerFingerprint: string | null;
  /** The leaf, parsed, when the proxy has one. */
  certificate: X509Certificate | null;
  /** Stable digest of the inputs: an identical re-sent config reuses the context. */
  contentDigest: string;
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

/** The certificate that signed `leaf`: looked up in the chain first, then among the trusted roots. */
export function findIssuer(leaf: X509Certificate, candidates: readonly X509Certificate[]): X509Certificate | undefined {
  return candidates.find((candidate) => leaf.checkIssued(candidate) && leaf.verify(candidate.publicKey));
}

// No session tickets: every connection runs a full handshake against the current certificates.
const SECURE_OPTIONS = cryptoConstants.SSL_OP_NO_TICKET;

export function buildTlsConfig(config: ProxyConfigEvent, key: ProxyKey): AppliedTlsConfig {
  const roots = config.trustBundle.flatMap((entry) => splitPemCertificates(entry.pem));
  if (roots.length === 0) throw new Error('trust bundle holds no certificate');
  const trustedRootFingerprints = [...new Set(roots.map(sha256Fingerprint))].sort();
  const caPems = roots.map((root) => root.toString());

  if (!config.certificate) {
    return {
      version: config.version,
      secureContext: tls.createSecureContext({ ca: caPems, secureOptions: SECURE_OPTIONS, minVersion: 'TLSv1.2' }),
      trustedRootFingerprints,
      certificateIssuerFingerprint: null,
      certificate: null,
      contentDigest: configDigest(config),
    };
  }

  const [leaf, ...leafPemExtras] = splitPemCertificates(config.certificate.pem);
  if (!leaf) throw new Error('identity certificate PEM holds no certificate');
  if (!leaf.publicKey.equals(key.publicKey)) throw new Error('identity certificate does not match the proxy key');
  const chain = [...leafPemExtras, ...config.certificate.chain.flatMap(splitPemCertificates)];
  const issuer = findIssuer(leaf, [...chain, ...roots]);
  const certificateChainPem = [leaf, ...chain].map((certificate) => certificate.toString()).join('');
  return {
    version: config.version,
    secureContext: tls.createSecureContext({
      key: key.tlsKeyPem(),
      cert: certificateChainPem,
      ca: caPems,
      secureOptions: SECURE_OPTIONS,
      minVersion: 'TLSv1.2',
    }),
    trustedRootFingerprints,
    certificateIssuerFingerprint: issuer ? sha256Fingerprint(issuer) : null,
    certificate: leaf,
    contentDigest: configDigest(config),
  };
}
