/** Test CAs built field by field: any subject (an empty one too), validity times in any encoding, any key type. */
import { KeyObject, generateKeyPairSync } from 'node:crypto';
import { signTbs } from '../../../src/pki/build';
import { Tag, explicit, sequence, smallInteger, tlv } from '../../../src/pki/der';
import { basicConstraints, distinguishedName, keyUsage, randomSerial, uriSubjectAltNames } from '../../../src/pki/extensions';
import { privateKeyToPem, signatureAlgorithmFor, subjectPublicKeyInfo } from '../../../src/pki/keys';
import { KeyUsageBit } from '../../../src/pki/oids';
import { toPem } from '../../../src/pki/pem';

export type KeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'ed25519' | 'rsa-2048' | 'rsa-1024';

export function keyOf(type: KeyType): KeyObject {
  switch (type) {
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    case 'ecdsa-p384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    case 'ecdsa-p521':
      return generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey;
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey;
    case 'rsa-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    case 'rsa-1024':
      return generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  }
}

export const utcTime = (text: string): Buffer => tlv(Tag.UTC_TIME, Buffer.from(text, 'latin1'));
export const generalizedTime = (text: string): Buffer => tlv(Tag.GENERALIZED_TIME, Buffer.from(text, 'latin1'));

export interface RawCaOptions {
  key?: KeyObject;
  /** DER Name; default CN=raw CA. `sequence()` is the empty Name. */
  subject?: Buffer;
  notBefore?: Buffer;
  notAfter?: Buffer;
}

export interface RawCa {
  der: Buffer;
  certificatePem: string;
  privateKeyPem: string;
}

/** A self-signed CA certificate (CA:TRUE, keyCertSign, a SPIFFE URI SAN so an empty subject stays legal). */
export function rawCa(options: RawCaOptions = {}): RawCa {
  const key = options.key ?? keyOf('ecdsa-p256');
  const algorithm = signatureAlgorithmFor(key);
  const subject = options.subject ?? distinguishedName({ commonName: 'raw CA' });
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    randomSerial(),
    algorithm.identifier,
    subject,
    sequence(options.notBefore ?? utcTime('200101000000Z'), options.notAfter ?? generalizedTime('21000101000000Z')),
    subject,
    subjectPublicKeyInfo(key),
    explicit(3, sequence(basicConstraints(true), keyUsage([KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign]), uriSubjectAltNames(['spiffe://default'], true))),
  );
  const der = signTbs(tbs, key, algorithm);
  return { der, certificatePem: toPem('CERTIFICATE', der), privateKeyPem: privateKeyToPem(key) };
}
