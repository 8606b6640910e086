/** Key pairs and the signature algorithm that goes with a signing key. */
import { KeyObject, createPrivateKey, createPublicKey, generateKeyPair as generateKeyPairCallback } from 'node:crypto';
import { promisify } from 'node:util';
import { nullValue, oid, sequence } from './der';
import { OID } from './oids';

const generateKeyPairAsync = promisify(generateKeyPairCallback);

/** The key types this project generates: ECDSA P-256 (the default) or RSA with a given modulus size. */
export type KeySpec = { type: 'ecdsa-p256' } | { type: 'rsa'; bits: number };

export const ECDSA_P256: KeySpec = { type: 'ecdsa-p256' };
export const rsa = (bits: number): KeySpec => ({ type: 'rsa', bits });

/** `ecdsa-p256`, `rsa-2048`: for logs and bench output. */
export function keySpecName(spec: KeySpec): string {
  return spec.type === 'rsa' ? `rsa-${spec.bits}` : spec.type;
}

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Generates off the main thread (libuv pool): RSA generation takes tens of milliseconds. */
export async function generateKeyPair(spec: KeySpec = ECDSA_P256): Promise<KeyPair> {
  if (spec.type === 'rsa') return generateKeyPairAsync('rsa', { modulusLength: spec.bits, publicExponent: 0x10001 });
  return generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
}

/** PKCS#8 PEM, the form stored in secrets and handed to TLS stacks. */
export function privateKeyToPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** Parses a PEM private key (PKCS#8, PKCS#1 or SEC1). Throws on anything else; callers turn that into a validation error. */
export function parsePrivateKey(pem: string | Buffer): KeyObject {
  return createPrivateKey({ key: pem, format: 'pem' });
}

export function subjectPublicKeyInfo(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ format: 'der', type: 'spki' });
}

/** A short description for messages: `ECDSA P-256`, `RSA 2048 bits`. */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') return `RSA ${details.modulusLength ?? '?'} bits`;
  if (key.asymmetricKeyType === 'ec') return `ECDSA ${curveName(details.namedCurve)}`;
  return String(key.asymmetricKeyType ?? 'unknown key type').toUpperCase();
}

function curveName(namedCurve: string | undefined): string {
  switch (namedCurve) {
    case 'prime256v1':
      return 'P-256';
    case 'secp384r1':
      return 'P-384';
    case 'secp521r1':
      return 'P-521';
    default:
      return namedCurve ?? 'unknown curve';
  }
}

export interface SignatureAlgorithm {
  /** AlgorithmIdentifier, DER: goes into the certificate twice (TBS and outer). */
  identifier: Buffer;
  /** Digest for node:crypto's sign/verify; null for Ed25519. */
  digest: string | null;
}

/** The algorithm a CA key signs with: ECDSA with the digest matching the curve, RSA PKCS#1 v1.5 with SHA-256, or Ed25519. */
export function signatureAlgorithmFor(signingKey: KeyObject): SignatureAlgorithm {
  switch (signingKey.asymmetricKeyType) {
    case 'ec': {
      const curve = signingKey.asymmetricKeyDetails?.namedCurve;
      if (curve === 'secp384r1') return { identifier: sequence(oid(OID.ecdsaWithSha384)), digest: 'sha384' };
      if (curve === 'secp521r1') return { identifier: sequence(oid(OID.ecdsaWithSha512)), digest: 'sha512' };
      return { identifier: sequence(oid(OID.ecdsaWithSha256)), digest: 'sha256' };
    }
    case 'rsa':
      return { identifier: sequence(oid(OID.sha256WithRsa), nullValue()), digest: 'sha256' };
    case 'ed25519':
      return { identifier: sequence(oid(OID.ed25519)), digest: null };
    default:
      throw new Error(`unsupported signing key type: ${signingKey.asymmetricKeyType ?? 'unknown'}`);
  }
}

/** The digest a signature algorithm OID uses, for verifying CSRs and certificates; undefined when unsupported. */
export function digestForSignatureOid(algorithmOid: string): string | null | undefined {
  switch (algorithmOid) {
    case OID.ecdsaWithSha256:
    case OID.sha256WithRsa:
      return 'sha256';
    case OID.ecdsaWithSha384:
    case OID.sha384WithRsa:
      return 'sha384';
    case OID.ecdsaWithSha512:
    case OID.sha512WithRsa:
      return 'sha512';
    case OID.ed25519:
      return null;
    default:
      return undefined;
  }
}
