/**
 * Checks on CA material (a certificate chain and its private key), shared by the provided backend
 * and the builtin backend's stored CA: Kuma's (tls.X509KeyPair and validateCaCert) plus our two
 * stricter rules, a CA that is valid now and RSA keys of at least 2048 bits. Never throws.
 */
import type { KeyObject } from 'node:crypto';
import type { Issues } from '../mesh/validate-issues';
import { CertificateInfo, chainProblem, keyMatchesCertificate, oneLine, parseCertificateChainPem } from '../pki/certificate';
import { describeKey, parsePrivateKey } from '../pki/keys';
import { KeyUsageBit } from '../pki/oids';
import { MIN_RSA_BITS } from '../mesh/backends/builtin';
import { errorMessage } from '../mesh/errors';

export const EXPIRY_WARNING_MS = 30 * 24 * 3600 * 1000;

export interface CaMaterial {
  chain: CertificateInfo[];
  key: KeyObject;
}

/** Reports to `cert` / `key`; returns the material when nothing is wrong with it, enforced or not. */
export function checkCaMaterial(certBytes: Buffer, keyBytes: Buffer, cert: Issues, key: Issues, now = new Date()): CaMaterial | undefined {
  let problems = 0;
  const problem = (at: Issues, message: string, stricter = false): void => {
    problems++;
    if (stricter) at.stricter(message);
    else at.error(message);
  };
  const chain = loadChain(certBytes, (message) => problem(cert, message));
  const privateKey = loadKey(keyBytes, (message) => problem(key, message));

  chain.forEach((certificate, index) => {
    const which = chain.length > 1 ? `certificate ${index + 1} of the chain (${oneLine(certificate.subject)})` : `the certificate (${oneLine(certificate.subject)})`;
    if (!certificate.isCa) problem(cert, `${which}: basic constraint 'CA' must be set to 'true' (see X509-SVID: 4.1. Basic Constraints)`);
    if (!certificate.keyUsage?.has(KeyUsageBit.keyCertSign)) problem(cert, `${which}: key usage extension 'keyCertSign' must be set (see X509-SVID: 4.3. Key Usage)`);
    if (certificate.keyUsage?.has(KeyUsageBit.keyAgreement)) problem(cert, `${which}: key usage extension 'keyAgreement' must NOT be set (a signing CA must not have it)`);
    if (certificate.notAfter.getTime() <= now.getTime()) {
      problem(cert, `${which} expired at ${certificate.notAfter.toISOString()} (stricter than Kuma on purpose: proxies would reject every certificate it signs)`, true);
    } else if (certificate.notBefore.getTime() > now.getTime()) {
      problem(cert, `${which} is not valid before ${certificate.notBefore.toISOString()} (stricter than Kuma on purpose: proxies would reject every certificate it signs until then)`, true);
    } else if (certificate.notAfter.getTime() - now.getTime() < EXPIRY_WARNING_MS) {
      cert.warn(`${which} expires at ${certificate.notAfter.toISOString()}, in less than 30 days`);
    }
    const keyProblem = weakKeyProblem(certificate.publicKey);
    if (keyProblem) problem(cert, `${which}: ${keyProblem.message}`, keyProblem.stricter);
  });
  const order = chainProblem(chain);
  if (order) cert.warn(`${order} (Kuma accepts this chain, but peers may fail to build a path through it)`);

  const first = chain[0];
  if (privateKey && first) {
    const keyProblem = weakKeyProblem(privateKey);
    if (keyProblem) problem(key, keyProblem.message, keyProblem.stricter);
    else if (!keyMatchesCertificate(privateKey, first)) {
      problem(key, `not a valid TLS key pair: the private key (${describeKey(privateKey)}) does not match the first certificate (${describeKey(first.publicKey)})`);
    }
  }
  return problems === 0 && privateKey && first ? { chain, key: privateKey } : undefined;
}

function loadChain(bytes: Buffer, problem: (message: string) => void): CertificateInfo[] {
  try {
    const chain = parseCertificateChainPem(bytes);
    if (chain.length === 0) problem('not a valid TLS key pair: no PEM CERTIFICATE block found (the certificate must be PEM-encoded)');
    return chain;
  } catch (error) {
    problem(`not a valid TLS key pair: the certificate cannot be parsed: ${safeReason(error)}`);
    return [];
  }
}

function loadKey(bytes: Buffer, problem: (message: string) => void): KeyObject | undefined {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(bytes.toString('latin1'))) {
    problem('not a valid TLS key pair: no PEM private key found (expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)');
    return undefined;
  }
  try {
    return parsePrivateKey(bytes);
  } catch {
    // The parser's message may echo key material: say only that it failed.
    problem('not a valid TLS key pair: the private key cannot be parsed (corrupt, encrypted or an unsupported format)');
    return undefined;
  }
}

/** RSA below 2048 bits is our stricter rule; key types Go's TLS stack cannot use are Kuma's. */
function weakKeyProblem(key: KeyObject): { message: string; stricter: boolean } | undefined {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits >= MIN_RSA_BITS) return undefined;
    return { message: `RSA key of ${bits} bits: at least ${MIN_RSA_BITS} bits are required (stricter than Kuma on purpose: peers that require 2048-bit keys would refuse the rotation)`, stricter: true };
  }
  if (type === 'ec' || type === 'ed25519') return undefined;
  return { message: `not a valid TLS key pair: unsupported key type ${type ?? 'unknown'} (use ECDSA, Ed25519 or RSA)`, stricter: false };
}

/** A parse failure's reason, without echoing input. */
function safeReason(error: unknown): string {
  const message = errorMessage(error);
  return message.length > 120 ? `${message.slice(0, 117)}...` : message;
}
