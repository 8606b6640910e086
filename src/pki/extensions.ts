/** Encoders for the certificate extensions and names this project writes. */
import { createHash, randomFillSync } from 'node:crypto';
import { isIP } from 'node:net';
import { Tag, booleanValue, contextTag, ia5String, namedBits, octetString, oid, sequence, set, tlv, utf8String } from './der';
import { OID } from './oids';

export function extension(extensionOid: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(extensionOid), booleanValue(true), octetString(value)) : sequence(oid(extensionOid), octetString(value));
}

export function basicConstraints(ca: boolean, pathLength?: number): Buffer {
  const fields: Buffer[] = [];
  if (ca) fields.push(booleanValue(true));
  if (ca && pathLength !== undefined) fields.push(tlv(Tag.INTEGER, Buffer.from([pathLength])));
  return extension(OID.basicConstraints, true, sequence(...fields));
}

export function keyUsage(bits: readonly number[]): Buffer {
  return extension(OID.keyUsage, true, namedBits(bits));
}

export function extendedKeyUsage(purposes: readonly string[]): Buffer {
  return extension(OID.extKeyUsage, false, sequence(...purposes.map(oid)));
}

export function subjectKeyIdentifier(keyId: Buffer): Buffer {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyId));
}

export function authorityKeyIdentifier(keyId: Buffer): Buffer {
  return extension(OID.authorityKeyIdentifier, false, sequence(tlv(contextTag(0, false), keyId)));
}

/** URI SANs. Critical when the subject is empty (RFC 5280 4.2.1.6), as in SPIFFE identity certificates. */
export function uriSubjectAltNames(uris: readonly string[], critical: boolean): Buffer {
  const names = uris.map((uri) => {
    const ia5 = ia5String(uri);
    ia5[0] = contextTag(6, false); // uniformResourceIdentifier [6] IMPLICIT IA5String
    return ia5;
  });
  return extension(OID.subjectAltName, critical, sequence(...names));
}

/** DNS and IP SANs of a TLS server certificate (a webhook's, an API server's): dNSName [2], iPAddress [7] (IPv4 or IPv6). */
export function serverSubjectAltNames(dnsNames: readonly string[], ipAddresses: readonly string[]): Buffer {
  const dns = dnsNames.map((name) => {
    const ia5 = ia5String(name);
    ia5[0] = contextTag(2, false); // dNSName [2] IMPLICIT IA5String
    return ia5;
  });
  const ips = ipAddresses.map((ip) => tlv(contextTag(7, false), ipAddressBytes(ip)));
  return extension(OID.subjectAltName, false, sequence(...dns, ...ips));
}

/** 4 bytes for IPv4, 16 for IPv6 ("::" expanded). */
function ipAddressBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  return Buffer.concat(groups.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

/** Key identifier method 1 of RFC 5280 4.2.1.2: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(subjectPublicKeyBits: Buffer): Buffer {
  return createHash('sha1').update(subjectPublicKeyBits).digest();
}

export interface NameParts {
  commonName?: string;
  organization?: string;
}

/** A distinguished name, O before CN as usual; `{}` gives the empty name. */
export function distinguishedName(parts: NameParts): Buffer {
  const rdns: Buffer[] = [];
  if (parts.organization !== undefined) rdns.push(set(sequence(oid(OID.organization), utf8String(parts.organization))));
  if (parts.commonName !== undefined) rdns.push(set(sequence(oid(OID.commonName), utf8String(parts.commonName))));
  return sequence(...rdns);
}

export const EMPTY_NAME = sequence();

/** 16 random bytes: 126 bits of entropy after forcing a positive, minimal, fixed-length INTEGER. */
export const SERIAL_BYTES = 16;
const serialPool = Buffer.alloc(SERIAL_BYTES * 512);
let serialPoolOffset = serialPool.length;

/** A random serial, INTEGER-encoded. Draws from a pool: one randomFill per 512 serials keeps the hot path cheap. */
export function randomSerial(): Buffer {
  if (serialPoolOffset === serialPool.length) {
    randomFillSync(serialPool);
    serialPoolOffset = 0;
  }
  const magnitude = Buffer.from(serialPool.subarray(serialPoolOffset, serialPoolOffset + SERIAL_BYTES));
  serialPoolOffset += SERIAL_BYTES;
  magnitude[0] = ((magnitude[0] as number) & 0x7f) | 0x40; // top bit clear (positive), next set (no leading zero byte)
  return tlv(Tag.INTEGER, magnitude);
}

