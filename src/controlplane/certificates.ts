/** The little the control plane reads from certificates and CSRs it handles. */
import { X509Certificate, createHash } from 'node:crypto';
import { certificateValidity } from '../pki/certificate';
import { parsePemBlocks } from '../pki/pem';

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const CSR_BLOCK = /-----BEGIN CERTIFICATE REQUEST-----([\s\S]+?)-----END CERTIFICATE REQUEST-----/;

/** SHA-256 of the certificate's DER, hex lower case (what proxies report in acks). */
export function certificateFingerprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

/** Every CERTIFICATE block of a PEM bundle, each as its own PEM string. */
export function splitCertificates(pem: string): string[] {
  return (pem.match(CERTIFICATE_BLOCK) ?? []).map((block) => `${block}\n`);
}

/** However short a certificate's life (e.g. capped by a CA about to expire), renewal never runs more often than this. */
export const MIN_RENEWAL_INTERVAL_MS = 60_000;

/** When to renew on our own: with a fifth of the lifetime left, as Kuma does, and not sooner than MIN_RENEWAL_INTERVAL_MS from now. */
export function renewalTimeMs(certificatePem: string, nowMs = Date.now()): number {
  const block = parsePemBlocks(certificatePem).find((b) => b.label === 'CERTIFICATE');
  if (!block) throw new Error('no CERTIFICATE block in the issued PEM');
  const { notBefore, notAfter } = certificateValidity(block.der);
  return Math.max(notAfter.getTime() - (notAfter.getTime() - notBefore.getTime()) / 5, nowMs + MIN_RENEWAL_INTERVAL_MS);
}

/** DER of a PEM CSR, or undefined when the text holds none. */
export function csrDer(pem: string): Buffer | undefined {
  const body = CSR_BLOCK.exec(pem)?.[1]?.replace(/\s+/g, '');
  if (!body || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return undefined;
  return Buffer.from(body, 'base64');
}
