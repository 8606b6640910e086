/** Assembling and signing certificates from DER parts. */
import { KeyObject, sign } from 'node:crypto';
import { bitString, explicit, sequence, smallInteger, time } from './der';
import { SignatureAlgorithm, signatureAlgorithmFor } from './keys';

export interface CertificateFields {
  serial: Buffer;
  issuerName: Buffer;
  subjectName: Buffer;
  notBefore: Date;
  notAfter: Date;
  subjectPublicKeyInfo: Buffer;
  extensions: readonly Buffer[];
}

const VERSION_3 = explicit(0, smallInteger(2));

export function tbsCertificate(fields: CertificateFields, algorithm: SignatureAlgorithm): Buffer {
  return sequence(
    VERSION_3,
    fields.serial,
    algorithm.identifier,
    fields.issuerName,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subjectName,
    fields.subjectPublicKeyInfo,
    explicit(3, sequence(...fields.extensions)),
  );
}

/** Signs a TBSCertificate; returns the certificate DER. */
export function signTbs(tbs: Buffer, signingKey: KeyObject, algorithm: SignatureAlgorithm = signatureAlgorithmFor(signingKey)): Buffer {
  const signature = sign(algorithm.digest, tbs, signingKey);
  return sequence(tbs, algorithm.identifier, bitString(signature));
}

export function createCertificate(fields: CertificateFields, signingKey: KeyObject): Buffer {
  const algorithm = signatureAlgorithmFor(signingKey);
  return signTbs(tbsCertificate(fields, algorithm), signingKey, algorithm);
}
