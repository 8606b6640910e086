/** Generating CA certificates: self-signed roots (builtin backends, tests) and intermediates (tests, provided chains). */
import { KeyObject, randomBytes } from 'node:crypto';
import { createCertificate } from './build';
import { CertificateInfo, parseCertificateDer, subjectPublicKeyBits } from './certificate';
import {
  authorityKeyIdentifier,
  basicConstraints,
  distinguishedName,
  extendedKeyUsage,
  keyIdentifier,
  keyUsage,
  randomSerial,
  serverSubjectAltNames,
  subjectKeyIdentifier,
  uriSubjectAltNames,
} from './extensions';
import { ECDSA_P256, KeySpec, generateKeyPair, privateKeyToPem, subjectPublicKeyInfo } from './keys';
import { KeyUsageBit, OID } from './oids';
import { toPem } from './pem';

export const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

export interface CaOptions {
  /** Subject CN. Pass a unique one: see caCommonName. */
  commonName: string;
  organization?: string;
  keySpec?: KeySpec;
  validityMs?: number;
  notBefore?: Date;
  /** URI SANs, e.g. spiffe://<mesh> like Kuma's builtin CA. */
  uris?: string[];
  /** Sign with this CA instead of self-signing (an intermediate). */
  issuer?: { certificate: CertificateInfo; privateKey: KeyObject };
  /** Override keyUsage bits (tests build deliberately wrong CAs). */
  keyUsageBits?: number[];
  /** basicConstraints cA (tests build deliberately wrong CAs). Default true. */
  isCa?: boolean;
  /** Certify this existing key instead of generating one (builtin: the key stored first wins). */
  privateKey?: KeyObject;
}

export interface GeneratedCa {
  certificate: CertificateInfo;
  privateKey: KeyObject;
  certificatePem: string;
  privateKeyPem: string;
}

export const CA_KEY_USAGE = [KeyUsageBit.digitalSignature, KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign];

/**
 * `<mesh>-<backend> CA <random>`: a distinct subject per CA. Kuma names every builtin CA alike with
 * serial 0, which confuses chain building while two builtin CAs are trusted side by side.
 */
export function caCommonName(mesh: string, backend: string): string {
  return `${mesh}-${backend} CA ${randomBytes(8).toString('hex')}`;
}

export async function generateCa(options: CaOptions): Promise<GeneratedCa> {
  const privateKey = options.privateKey ?? (await generateKeyPair(options.keySpec ?? ECDSA_P256)).privateKey;
  const spki = subjectPublicKeyInfo(privateKey);
  const keyId = keyIdentifier(subjectPublicKeyBits(spki));
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (options.validityMs ?? TEN_YEARS_MS));
  const subjectName = distinguishedName({ commonName: options.commonName, organization: options.organization });
  const issuer = options.issuer;
  const extensions = [
    basicConstraints(options.isCa ?? true),
    keyUsage(options.keyUsageBits ?? CA_KEY_USAGE),
    subjectKeyIdentifier(keyId),
    authorityKeyIdentifier(issuer ? (issuer.certificate.subjectKeyId ?? keyIdentifier(subjectPublicKeyBits(issuer.certificate.subjectPublicKeyInfoDer))) : keyId),
  ];
  if (options.uris?.length) extensions.push(uriSubjectAltNames(options.uris, false));
  const der = createCertificate(
    {
      serial: randomSerial(),
      issuerName: issuer ? issuer.certificate.subjectNameDer : subjectName,
      subjectName,
      notBefore,
      notAfter,
      subjectPublicKeyInfo: spki,
      extensions,
    },
    issuer ? issuer.privateKey : privateKey,
  );
  return { certificate: parseCertificateDer(der), privateKey, certificatePem: toPem('CERTIFICATE', der), privateKeyPem: privateKeyToPem(privateKey) };
}

export interface ServingCertificate {
  /** The CA that signed it, for clients to trust (e.g. a webhook registration's caBundle). */
  caPem: string;
  certificatePem: string;
  privateKeyPem: string;
}

/** A TLS server certificate for these names, from a fresh CA of its own (loopback and in-cluster webhooks). */
export async function generateServingCertificate(options: { commonName: string; dnsNames: string[]; ipAddresses: string[]; validityMs?: number }): Promise<ServingCertificate> {
  const ca = await generateCa({ commonName: `${options.commonName} CA ${randomBytes(8).toString('hex')}`, validityMs: options.validityMs });
  const privateKey = (await generateKeyPair(ECDSA_P256)).privateKey;
  const spki = subjectPublicKeyInfo(privateKey);
  const notBefore = new Date(Date.now() - 60_000);
  const der = createCertificate(
    {
      serial: randomSerial(),
      issuerName: ca.certificate.subjectNameDer,
      subjectName: distinguishedName({ commonName: options.commonName }),
      notBefore,
      notAfter: new Date(notBefore.getTime() + (options.validityMs ?? TEN_YEARS_MS)),
      subjectPublicKeyInfo: spki,
      extensions: [
        basicConstraints(false),
        keyUsage([KeyUsageBit.digitalSignature]),
        extendedKeyUsage([OID.serverAuth]),
        subjectKeyIdentifier(keyIdentifier(subjectPublicKeyBits(spki))),
        authorityKeyIdentifier(ca.certificate.subjectKeyId ?? keyIdentifier(subjectPublicKeyBits(ca.certificate.subjectPublicKeyInfoDer))),
        serverSubjectAltNames(options.dnsNames, options.ipAddresses),
      ],
    },
    ca.privateKey,
  );
  return { caPem: ca.certificatePem, certificatePem: toPem('CERTIFICATE', der), privateKeyPem: privateKeyToPem(privateKey) };
}
