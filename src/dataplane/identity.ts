/**
 * A proxy's identity key pair and its certificate signing request. The private key is created here and
 * never leaves the process: it is reachable only through `tlsKeyPem()` (to build TLS contexts), is not
 * enumerable, and the object prints as a redacted placeholder.
 */
import { generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { inspect, promisify } from 'node:util';
import {
  derBitString,
  derContextConstructed,
  derNull,
  derObjectIdentifier,
  derSequence,
  derSet,
  derSmallInteger,
  derUtf8String,
  pemEncode,
} from './der';

export type ProxyKeyType = 'ecdsa-p256' | 'rsa-2048';

const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

const generateKeyPairAsync = promisify(generateKeyPair);

export class ProxyKey {
  readonly #privateKey: KeyObject;
  readonly #privateKeyPem: string;

  private constructor(
    readonly type: ProxyKeyType,
    privateKey: KeyObject,
    readonly publicKey: KeyObject,
  ) {
    this.#privateKey = privateKey;
    this.#privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  static async generate(type: ProxyKeyType = 'ecdsa-p256'): Promise<ProxyKey> {
    const pair =
      type === 'ecdsa-p256'
        ? await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' })
        : await generateKeyPairAsync('rsa', { modulusLength: 2048 });
    return new ProxyKey(type, pair.privateKey, pair.publicKey);
  }

  /** For `tls.createSecureContext` only. */
  tlsKeyPem(): string {
    return this.#privateKeyPem;
  }

  /** PKCS#10 request (PEM) with subject `CN=<commonName>, O=<organization>`, signed with this key. */
  createCsrPem(subject: { commonName: string; organization?: string }): string {
    const rdns = [derSet(derSequence(derObjectIdentifier(OID_COMMON_NAME), derUtf8String(subject.commonName)))];
    if (subject.organization) rdns.push(derSet(derSequence(derObjectIdentifier(OID_ORGANIZATION), derUtf8String(subject.organization))));
    const subjectPublicKeyInfo = this.publicKey.export({ format: 'der', type: 'spki' });
    const requestInfo = derSequence(derSmallInteger(0), derSequence(...rdns), subjectPublicKeyInfo, derContextConstructed(0, Buffer.alloc(0)));
    const signatureAlgorithm =
      this.type === 'ecdsa-p256' ? derSequence(derObjectIdentifier(OID_ECDSA_WITH_SHA256)) : derSequence(derObjectIdentifier(OID_SHA256_WITH_RSA), derNull());
    // ECDSA signatures come out DER-encoded (Node's default dsaEncoding), as PKCS#10 wants them.
    const signature = sign('sha256', requestInfo, this.#privateKey);
    return pemEncode('CERTIFICATE REQUEST', derSequence(requestInfo, signatureAlgorithm, derBitString(signature)));
  }

  toJSON(): string {
    return `[ProxyKey ${this.type}]`;
  }

  [inspect.custom](): string {
    return this.toJSON();
  }
}
