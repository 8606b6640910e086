/**
 * PKCS#10 certificate signing requests: the proxies create them (their private key never leaves
 * them), the CA verifies and signs them. Hand-written DER both ways: verifying a CSR is per-proxy work.
 */
import { JsonWebKey, KeyObject, createPublicKey, sign, verify } from 'node:crypto';
import { DerError, DerNode, Tag, bitString, bitStringBytes, children, contextTag, decodeOid, expectTag, readSingle, sequence, smallInteger, tlv } from './der';
import { distinguishedName } from './extensions';
import { digestForSignatureOid, signatureAlgorithmFor, subjectPublicKeyInfo } from './keys';
import { OID } from './oids';
import { parsePemBlocks, toPem } from './pem';

export interface CsrOptions {
  /** Subject CN; the CA ignores the subject and puts the identity in URI SANs, so this is informational. */
  commonName?: string;
}

/** Creates a PKCS#10 CSR (DER) for `privateKey`, signed by it. */
export function createCsr(privateKey: KeyObject, options: CsrOptions = {}): Buffer {
  const algorithm = signatureAlgorithmFor(privateKey);
  const info = sequence(
    smallInteger(0),
    distinguishedName(options.commonName === undefined ? {} : { commonName: options.commonName }),
    subjectPublicKeyInfo(privateKey),
    tlv(contextTag(0, true), Buffer.alloc(0)), // attributes: none
  );
  return sequence(info, algorithm.identifier, bitString(sign(algorithm.digest, info, privateKey)));
}

export const csrToPem = (der: Buffer): string => toPem('CERTIFICATE REQUEST', der);

export function csrFromPem(pem: string): Buffer {
  const block = parsePemBlocks(pem).find((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
  if (!block) throw new CsrError('no CERTIFICATE REQUEST PEM block');
  return block.der;
}

/** A CSR that does not parse or whose signature does not verify: retrying will not help. */
export class CsrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsrError';
  }
}

export interface ParsedCsr {
  /** The requester's SubjectPublicKeyInfo, DER, byte for byte as requested: goes into the certificate. */
  subjectPublicKeyInfo: Buffer;
  /** The subjectPublicKey bits (for the subject key identifier). */
  subjectPublicKeyBits: Buffer;
  keyAlgorithm: 'ec' | 'rsa' | 'ed25519';
  /** What the signature covers: the DER CertificationRequestInfo. */
  signedData: Buffer;
  signature: Buffer;
  digest: string | null;
  /** The public key in the form node:crypto imports fastest (see publicKeyInput). */
  publicKey: PublicKeyInput;
}

/** Kept as an alias: a CSR whose signature has been checked. */
export type VerifiedCsr = ParsedCsr;

export type PublicKeyInput = { key: JsonWebKey; format: 'jwk' } | { key: Buffer; format: 'der'; type: 'spki' };

const KEY_ALGORITHMS: Record<string, ParsedCsr['keyAlgorithm']> = {
  [OID.ecPublicKey]: 'ec',
  [OID.rsaEncryption]: 'rsa',
  [OID.ed25519]: 'ed25519',
};

const JWK_CURVES: Record<string, { crv: string; size: number }> = {
  '1.2.840.10045.3.1.7': { crv: 'P-256', size: 32 },
  '1.3.132.0.34': { crv: 'P-384', size: 48 },
};

/**
 * OpenSSL 3 imports a JWK about twice as fast as a DER SubjectPublicKeyInfo (the DER decoder framework
 * is slow), and key import is the largest cost of verifying a CSR. Falls back to DER for other shapes.
 */
function publicKeyInput(spki: DerNode, algorithmParts: DerNode[], keyBits: Buffer, keyAlgorithm: ParsedCsr['keyAlgorithm']): PublicKeyInput {
  const der: PublicKeyInput = { key: Buffer.from(spki.raw), format: 'der', type: 'spki' };
  if (keyAlgorithm === 'ec' && algorithmParts[1]?.tag === Tag.OID) {
    const curve = JWK_CURVES[decodeOid(algorithmParts[1])];
    if (!curve || keyBits.length !== 1 + 2 * curve.size || keyBits[0] !== 0x04) return der;
    return {
      key: { kty: 'EC', crv: curve.crv, x: keyBits.subarray(1, 1 + curve.size).toString('base64url'), y: keyBits.subarray(1 + curve.size).toString('base64url') },
      format: 'jwk',
    };
  }
  if (keyAlgorithm === 'rsa') {
    const [modulus, exponent] = children(expectTag(readSingle(keyBits), Tag.SEQUENCE, 'RSAPublicKey'));
    const n = expectTag(modulus, Tag.INTEGER, 'modulus').content;
    const e = expectTag(exponent, Tag.INTEGER, 'exponent').content;
    const unsigned = (bytes: Buffer): Buffer => (bytes[0] === 0 ? bytes.subarray(1) : bytes);
    return { key: { kty: 'RSA', n: unsigned(n).toString('base64url'), e: unsigned(e).toString('base64url') }, format: 'jwk' };
  }
  return der;
}

/** Parses a CSR without checking its signature. Throws CsrError when it is malformed or of an unsupported kind. */
export function parseCsr(der: Buffer): ParsedCsr {
  try {
    const parts = children(expectTag(readSingle(der), Tag.SEQUENCE, 'CertificationRequest'));
    const info = expectTag(parts[0], Tag.SEQUENCE, 'CertificationRequestInfo');
    const spki = expectTag(children(info)[2], Tag.SEQUENCE, 'subjectPKInfo');
    const [keyAlgorithmNode, keyBitsNode] = children(spki);
    const algorithmParts = children(expectTag(keyAlgorithmNode, Tag.SEQUENCE, 'key algorithm'));
    const keyAlgorithmOid = decodeOid(algorithmParts[0] as DerNode);
    const keyAlgorithm = KEY_ALGORITHMS[keyAlgorithmOid];
    if (!keyAlgorithm) throw new CsrError(`unsupported CSR key algorithm ${keyAlgorithmOid}`);
    const signatureOid = decodeOid(children(expectTag(parts[1], Tag.SEQUENCE, 'signatureAlgorithm'))[0] as DerNode);
    const digest = digestForSignatureOid(signatureOid);
    if (digest === undefined) throw new CsrError(`unsupported CSR signature algorithm ${signatureOid}`);
    const keyBits = bitStringBytes(keyBitsNode as DerNode);
    return {
      subjectPublicKeyInfo: Buffer.from(spki.raw),
      subjectPublicKeyBits: keyBits,
      keyAlgorithm,
      signedData: info.raw,
      signature: bitStringBytes(parts[2] as DerNode),
      digest,
      publicKey: publicKeyInput(spki, algorithmParts, keyBits, keyAlgorithm),
    };
  } catch (error) {
    if (error instanceof CsrError) throw error;
    throw new CsrError(`malformed CSR: ${error instanceof DerError ? error.message : 'not DER'}`);
  }
}

export function csrSignatureValid(csr: ParsedCsr): boolean {
  try {
    return verify(csr.digest, csr.signedData, createPublicKey(csr.publicKey), csr.signature);
  } catch {
    return false;
  }
}

/** Parses a CSR and verifies its self-signature (proof the requester holds the key). Throws CsrError otherwise. */
export function parseAndVerifyCsr(der: Buffer): VerifiedCsr {
  const csr = parseCsr(der);
  if (!csrSignatureValid(csr)) throw new CsrError('the CSR signature does not verify');
  return csr;
}

/** RSA moduli below this are refused for leaf keys (NIST SP 800-57: 112-bit security). */
export const MIN_LEAF_RSA_BITS = 2048;
export const MAX_LEAF_RSA_BITS = 8192;
const LEAF_CURVES = new Set(['prime256v1', 'secp384r1']);

/** Why a proxy's key is not acceptable for an identity certificate, or undefined when it is (P-256, P-384, Ed25519, RSA 2048-8192). */
export function leafKeyPolicyProblem(csr: ParsedCsr): string | undefined {
  let details: { namedCurve?: string; modulusLength?: number } | undefined;
  try {
    details = createPublicKey(csr.publicKey).asymmetricKeyDetails;
  } catch {
    return 'the public key cannot be read';
  }
  if (csr.keyAlgorithm === 'ed25519') return undefined;
  if (csr.keyAlgorithm === 'ec') {
    return details?.namedCurve && LEAF_CURVES.has(details.namedCurve) ? undefined : `EC keys must be on P-256 or P-384, not ${details?.namedCurve ?? 'an unknown curve'}`;
  }
  const bits = details?.modulusLength ?? 0;
  if (bits < MIN_LEAF_RSA_BITS || bits > MAX_LEAF_RSA_BITS) return `RSA keys must have ${MIN_LEAF_RSA_BITS} to ${MAX_LEAF_RSA_BITS} bits, not ${bits}`;
  return undefined;
}
