/**
 * Checks on CA material (a certificate chain and its private key), shared by the provided backend
 * and the builtin backend's stored CA. Never throws: every problem becomes an issue with a path.
 */
import type { KeyObject } from 'node:crypto';
import { CertificateInfo, chainProblem, keyMatchesCertificate, oneLine, parseCertificateChainPem } from '../pki/certificate';
import { describeKey, parsePrivateKey } from '../pki/keys';
import { KeyUsageBit } from '../pki/oids';
import type { ValidationIssue, ValidationResult } from '../mesh/schema';

export const MIN_RSA_BITS = 2048;
export const EXPIRY_WARNING_MS = 30 * 24 * 3600 * 1000;

export interface CaMaterial {
  chain: CertificateInfo[];
  key: KeyObject;
}

export interface MaterialCheck extends ValidationResult {
  /** Present when there are no errors. */
  material?: CaMaterial;
}

export function checkCaMaterial(certBytes: Buffer, keyBytes: Buffer, certPath: string, keyPath: string, now = new Date()): MaterialCheck {
  const errors: ValidationIssue[] = [];
  const warnings: ValidationIssue[] = [];
  const chain = loadChain(certBytes, certPath, errors);
  const key = loadKey(keyBytes, keyPath, errors);

  chain.forEach((cert, index) => {
    const which = chain.length > 1 ? `certificate ${index + 1} of the chain (${oneLine(cert.subject)})` : `the certificate (${oneLine(cert.subject)})`;
    if (!cert.isCa) errors.push({ path: certPath, message: `${which} is not a CA: basicConstraints CA:TRUE is required` });
    if (!cert.keyUsage?.has(KeyUsageBit.keyCertSign)) errors.push({ path: certPath, message: `${which} lacks keyUsage keyCertSign` });
    if (cert.keyUsage?.has(KeyUsageBit.keyAgreement)) errors.push({ path: certPath, message: `${which} has keyUsage keyAgreement, which a signing CA must not have` });
    if (cert.notAfter.getTime() <= now.getTime()) errors.push({ path: certPath, message: `${which} expired at ${cert.notAfter.toISOString()}` });
    else if (cert.notBefore.getTime() > now.getTime()) errors.push({ path: certPath, message: `${which} is not valid before ${cert.notBefore.toISOString()}` });
    else if (cert.notAfter.getTime() - now.getTime() < EXPIRY_WARNING_MS) {
      warnings.push({ path: certPath, message: `${which} expires at ${cert.notAfter.toISOString()}, in less than 30 days` });
    }
    const keyProblem = weakKeyProblem(cert.publicKey);
    if (keyProblem) errors.push({ path: certPath, message: `${which}: ${keyProblem}` });
  });
  const order = chainProblem(chain);
  if (order) errors.push({ path: certPath, message: order });

  const first = chain[0];
  if (key && first) {
    const keyProblem = weakKeyProblem(key);
    if (keyProblem) errors.push({ path: keyPath, message: keyProblem });
    else if (!keyMatchesCertificate(key, first)) errors.push({ path: keyPath, message: `the private key (${describeKey(key)}) does not match the first certificate (${describeKey(first.publicKey)})` });
  }
  return { errors, warnings, material: errors.length === 0 && key ? { chain, key } : undefined };
}

function loadChain(bytes: Buffer, path: string, errors: ValidationIssue[]): CertificateInfo[] {
  try {
    const chain = parseCertificateChainPem(bytes);
    if (chain.length === 0) errors.push({ path, message: 'no PEM CERTIFICATE block found: the certificate must be PEM-encoded' });
    return chain;
  } catch (error) {
    errors.push({ path, message: `the certificate cannot be parsed: ${safeReason(error)}` });
    return [];
  }
}

function loadKey(bytes: Buffer, path: string, errors: ValidationIssue[]): KeyObject | undefined {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(bytes.toString('latin1'))) {
    errors.push({ path, message: 'no PEM private key found: expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block' });
    return undefined;
  }
  try {
    return parsePrivateKey(bytes);
  } catch {
    // The parser's message may echo key material: say only that it failed.
    errors.push({ path, message: 'the private key cannot be parsed (corrupt, encrypted or an unsupported format)' });
    return undefined;
  }
}

function weakKeyProblem(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits < MIN_RSA_BITS ? `RSA key of ${bits} bits: at least ${MIN_RSA_BITS} bits are required` : undefined;
  }
  if (type === 'ec' || type === 'ed25519') return undefined;
  return `unsupported key type ${type ?? 'unknown'}: use ECDSA or RSA`;
}

/** A parse failure's reason, without echoing input. */
function safeReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 120 ? `${message.slice(0, 117)}...` : message;
}
