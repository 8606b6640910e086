/**
 * Identity (leaf) certificates for proxies, signed from a template: the issuer name, algorithm and
 * authority key id are encoded once per CA; each certificate costs one CSR verification, one
 * signature and a few small buffers.
 */
import { KeyObject } from 'node:crypto';
import { bitString, explicit, sequence, smallInteger, time } from './der';
import { CertificateInfo, keyMatchesCertificate, subjectPublicKeyBits } from './certificate';
import { signTbs } from './build';
import { EMPTY_NAME, authorityKeyIdentifier, basicConstraints, extendedKeyUsage, keyIdentifier, keyUsage, randomSerial, subjectKeyIdentifier, uriSubjectAltNames } from './extensions';
import { SignatureAlgorithm, signatureAlgorithmFor } from './keys';
import { KeyUsageBit, OID } from './oids';
import { VerifiedCsr } from './csr';

/** Certificates start this far in the past, so a peer whose clock lags a little still accepts them. */
export const NOT_BEFORE_SKEW_MS = 10_000;

/** spiffe://<mesh>/<service> first, then kuma://<tag>/<value> for each tag (sorted, for stable output). */
export function identityUris(mesh: string, service: string, tags: Readonly<Record<string, string>>): string[] {
  // Kuma writes tag names and values as they are (`kuma://kuma.io/service/web`); encodeURI only
  // escapes what an IA5String URI cannot hold (spaces, non-ASCII).
  const uris = [`spiffe://${encodeURI(mesh)}/${encodeURI(service)}`];
  for (const name of Object.keys(tags).sort()) uris.push(`kuma://${encodeURI(name)}/${encodeURI(tags[name] as string)}`);
  return uris;
}

export interface LeafRequest {
  csr: VerifiedCsr;
  uris: readonly string[];
  /** Lifetime from now; NotBefore is NOT_BEFORE_SKEW_MS earlier. */
  validityMs: number;
  now?: Date;
}

export interface SignedLeaf {
  der: Buffer;
  notAfter: Date;
}

const VERSION_3 = explicit(0, smallInteger(2));
const COMMON_LEAF_EXTENSIONS = Buffer.concat([extendedKeyUsage([OID.serverAuth, OID.clientAuth]), basicConstraints(false)]);
/**
 * keyUsage by the subject key's type: an RSA key may encipher (RSA key transport), an EC or Ed25519
 * key only signs (RFC 5480 section 3, RFC 8410 section 5: no keyEncipherment).
 */
const LEAF_KEY_USAGE: Record<VerifiedCsr['keyAlgorithm'], Buffer> = {
  rsa: keyUsage([KeyUsageBit.digitalSignature, KeyUsageBit.keyEncipherment]),
  ec: keyUsage([KeyUsageBit.digitalSignature]),
  ed25519: keyUsage([KeyUsageBit.digitalSignature]),
};

export class LeafSigner {
  private readonly algorithm: SignatureAlgorithm;
  private readonly issuerName: Buffer;
  private readonly issuerExtensions: Buffer;

  constructor(
    readonly ca: CertificateInfo,
    private readonly caKey: KeyObject,
  ) {
    if (!keyMatchesCertificate(caKey, ca)) throw new Error('the CA private key does not match the CA certificate');
    this.algorithm = signatureAlgorithmFor(caKey);
    this.issuerName = ca.subjectNameDer;
    const caKeyId = ca.subjectKeyId ?? keyIdentifier(subjectPublicKeyBits(ca.subjectPublicKeyInfoDer));
    this.issuerExtensions = Buffer.concat([COMMON_LEAF_EXTENSIONS, authorityKeyIdentifier(caKeyId)]);
  }

  /** The TBSCertificate for a request, and its NotAfter (whole seconds, as encoded). */
  buildTbs(request: LeafRequest): { tbs: Buffer; notAfter: Date } {
    const now = request.now?.getTime() ?? Date.now();
    const notBefore = new Date(now - NOT_BEFORE_SKEW_MS);
    // Never outlive the CA: peers would reject the chain after the CA expires anyway.
    const notAfter = new Date(Math.floor(Math.min(now + request.validityMs, this.ca.notAfter.getTime()) / 1000) * 1000);
    const tbs = sequence(
      VERSION_3,
      randomSerial(),
      this.algorithm.identifier,
      this.issuerName,
      sequence(time(notBefore), time(notAfter)),
      EMPTY_NAME,
      request.csr.subjectPublicKeyInfo,
      explicit(
        3,
        sequence(
          LEAF_KEY_USAGE[request.csr.keyAlgorithm],
          this.issuerExtensions,
          subjectKeyIdentifier(keyIdentifier(request.csr.subjectPublicKeyBits)),
          uriSubjectAltNames(request.uris, true),
        ),
      ),
    );
    return { tbs, notAfter };
  }

  /** The certificate DER from a TBSCertificate and its signature (made here or by a signing worker). */
  assemble(tbs: Buffer, signature: Buffer): Buffer {
    return sequence(tbs, this.algorithm.identifier, bitString(signature));
  }

  /** Signs in this thread. The CSR must already be verified. */
  sign(request: LeafRequest): SignedLeaf {
    const { tbs, notAfter } = this.buildTbs(request);
    return { der: signTbs(tbs, this.caKey, this.algorithm), notAfter };
  }

  get signatureDigest(): string | null {
    return this.algorithm.digest;
  }
}
