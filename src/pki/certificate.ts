/**
 * Reading certificates: Node's X509Certificate for signatures and keys, a small DER walk for what it
 * does not expose (keyUsage bits, raw subject bytes, exact validity dates, key identifiers).
 */
import { KeyObject, X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { DerError, DerNode, Tag, bitStringBytes, bitStringFlags, children, contextTag, decodeOid, expectTag, readSingle } from './der';
import { OID } from './oids';
import { parsePemBlocks } from './pem';

export interface CertificateInfo {
  der: Buffer;
  x509: X509Certificate;
  /** OpenSSL's one-line form, for messages. */
  subject: string;
  issuer: string;
  /** The raw DER Name: a leaf's issuer must be byte-identical to its CA's subject for chain building. */
  subjectNameDer: Buffer;
  subjectPublicKeyInfoDer: Buffer;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  /** basicConstraints cA; false when the extension is absent. */
  isCa: boolean;
  /** keyUsage bits (see KeyUsageBit); undefined when the extension is absent. */
  keyUsage: Set<number> | undefined;
  subjectKeyId: Buffer | undefined;
  authorityKeyId: Buffer | undefined;
  uris: string[];
  publicKey: KeyObject;
  /** SHA-256 of the DER, hex lower case. */
  fingerprint: string;
}

export function sha256Fingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{4})$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(Z|[+-]\d{4})$/;

/**
 * An X.509 validity time, read as Go's crypto/x509 (and so Kuma) reads it: UTCTime `YYMMDDhhmm[ss]`
 * (years 50-99 are 19xx, 00-49 are 20xx) and GeneralizedTime `YYYYMMDDhhmmss` (any year, 0000-9999),
 * each ending in `Z` or a non-zero `±hhmm` offset. Fractional seconds (which RFC 5280 forbids), a time
 * without a zone, and dates that do not exist are refused with the reason.
 */
export function decodeTime(node: DerNode): Date {
  const text = node.content.toString('latin1');
  const fail = (why: string): never => {
    throw new DerError(`unsupported certificate time ${JSON.stringify(text.slice(0, 40))}: ${why}`);
  };
  let match: RegExpExecArray;
  let year: number;
  if (node.tag === Tag.UTC_TIME) {
    match = UTC_TIME.exec(text) ?? fail('expected UTCTime YYMMDDhhmm[ss]Z');
    const twoDigitYear = Number(match[1]);
    year = twoDigitYear < 50 ? 2000 + twoDigitYear : 1900 + twoDigitYear;
  } else if (node.tag === Tag.GENERALIZED_TIME) {
    if (/^\d{14}[.,]/.test(text)) fail('fractional seconds are not allowed (RFC 5280)');
    if (/^\d{10,14}$/.test(text)) fail('no time zone (RFC 5280 requires Z)');
    match = GENERALIZED_TIME.exec(text) ?? fail('expected GeneralizedTime YYYYMMDDhhmmssZ');
    year = Number(match[1]);
  } else {
    return fail('neither UTCTime nor GeneralizedTime');
  }
  const [month, day, hour, minute, second] = match.slice(2, 7).map((part) => Number(part ?? '0')) as [number, number, number, number, number];
  const zone = match[7] as string;
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) fail('not a calendar date and time');
  if (/^[+-]0000$/.test(zone)) fail('a zero offset is written Z');
  if (zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(3, 5)) > 59)) fail('not a time zone offset');
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return new Date(date.getTime() - zoneOffsetMs(zone));
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** `Z` → 0, `+0130` → 90 minutes, `-0500` → -5 hours. */
function zoneOffsetMs(zone: string): number {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5))) * 60_000;
}

interface ParsedExtensions {
  isCa: boolean;
  keyUsage: Set<number> | undefined;
  subjectKeyId: Buffer | undefined;
  authorityKeyId: Buffer | undefined;
  uris: string[];
}

function parseExtensions(container: DerNode | undefined): ParsedExtensions {
  const parsed: ParsedExtensions = { isCa: false, keyUsage: undefined, subjectKeyId: undefined, authorityKeyId: undefined, uris: [] };
  if (!container) return parsed;
  const list = expectTag(children(container)[0], Tag.SEQUENCE, 'extensions');
  for (const ext of children(list)) {
    const parts = children(ext);
    const id = decodeOid(parts[0] as DerNode);
    const value = readSingle(expectTag(parts[parts.length - 1], Tag.OCTET_STRING, 'extension value').content);
    switch (id) {
      case OID.basicConstraints: {
        const first = children(value)[0];
        parsed.isCa = first?.tag === Tag.BOOLEAN && first.content[0] !== 0;
        break;
      }
      case OID.keyUsage:
        parsed.keyUsage = bitStringFlags(value);
        break;
      case OID.subjectKeyIdentifier:
        parsed.subjectKeyId = Buffer.from(expectTag(value, Tag.OCTET_STRING, 'subjectKeyIdentifier').content);
        break;
      case OID.authorityKeyIdentifier: {
        const keyId = children(value).find((n) => n.tag === contextTag(0, false));
        parsed.authorityKeyId = keyId ? Buffer.from(keyId.content) : undefined;
        break;
      }
      case OID.subjectAltName:
        parsed.uris = children(value)
          .filter((n) => n.tag === contextTag(6, false))
          .map((n) => n.content.toString('ascii'));
        break;
      default:
        break;
    }
  }
  return parsed;
}

/** Parses one certificate (DER). Throws on malformed input; validation callers catch and report. */
export function parseCertificateDer(der: Buffer): CertificateInfo {
  const x509 = new X509Certificate(der);
  const certificate = readSingle(der);
  const tbs = expectTag(children(certificate)[0], Tag.SEQUENCE, 'TBSCertificate');
  const fields = children(tbs);
  const offset = fields[0]?.tag === contextTag(0, true) ? 1 : 0;
  const serial = expectTag(fields[offset], Tag.INTEGER, 'serialNumber');
  const validity = children(expectTag(fields[offset + 3], Tag.SEQUENCE, 'validity'));
  const subjectName = expectTag(fields[offset + 4], Tag.SEQUENCE, 'subject');
  const spki = expectTag(fields[offset + 5], Tag.SEQUENCE, 'subjectPublicKeyInfo');
  const extensions = parseExtensions(fields.find((f) => f.tag === contextTag(3, true)));
  return {
    der,
    x509,
    // Node leaves these undefined for an empty Name (allowed when the identity is in subjectAltName).
    subject: x509.subject ?? '',
    issuer: x509.issuer ?? '',
    subjectNameDer: Buffer.from(subjectName.raw),
    subjectPublicKeyInfoDer: Buffer.from(spki.raw),
    serialHex: serial.content.toString('hex'),
    notBefore: decodeTime(validity[0] as DerNode),
    notAfter: decodeTime(validity[1] as DerNode),
    ...extensions,
    publicKey: x509.publicKey,
    fingerprint: sha256Fingerprint(der),
  };
}

/**
 * The validity period of a certificate (DER), read without building an X509Certificate: the control plane
 * needs only these dates of every certificate it issues, and OpenSSL's parse costs far more than this walk.
 */
export function certificateValidity(der: Buffer): { notBefore: Date; notAfter: Date } {
  const tbs = expectTag(children(readSingle(der))[0], Tag.SEQUENCE, 'TBSCertificate');
  const fields = children(tbs);
  const offset = fields[0]?.tag === contextTag(0, true) ? 1 : 0;
  const validity = children(expectTag(fields[offset + 3], Tag.SEQUENCE, 'validity'));
  return { notBefore: decodeTime(validity[0] as DerNode), notAfter: decodeTime(validity[1] as DerNode) };
}

/** Every certificate of a PEM bundle, in order. Throws when a block is not a certificate or does not parse. */
export function parseCertificateChainPem(pem: string | Buffer): CertificateInfo[] {
  const blocks = parsePemBlocks(pem.toString());
  const other = blocks.find((b) => b.label !== 'CERTIFICATE');
  if (other) throw new Error(`expected CERTIFICATE PEM blocks, found "${other.label}"`);
  return blocks.map((b) => parseCertificateDer(b.der));
}

/** The subjectPublicKey bits of a SubjectPublicKeyInfo: what key identifiers hash. */
export function subjectPublicKeyBits(spkiDer: Buffer): Buffer {
  return bitStringBytes(children(readSingle(spkiDer))[1] as DerNode);
}

/** Whether `privateKey` is the key of `certificate` (compares public keys, DER). */
export function keyMatchesCertificate(privateKey: KeyObject, certificate: CertificateInfo): boolean {
  const fromKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return fromKey.equals(certificate.publicKey.export({ format: 'der', type: 'spki' }));
}

export function isSelfSigned(certificate: CertificateInfo): boolean {
  return certificate.x509.checkIssued(certificate.x509) && certificate.x509.verify(certificate.publicKey);
}

/**
 * Checks that each certificate is issued and signed by the next one (closest first) and, when the
 * last is self-signed, that its own signature verifies. Returns a problem description or undefined.
 */
export function chainProblem(chain: readonly CertificateInfo[]): string | undefined {
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as CertificateInfo;
    const parent = chain[i + 1] as CertificateInfo;
    if (!child.x509.checkIssued(parent.x509) || !child.x509.verify(parent.publicKey)) {
      return `certificate ${i + 1} (${oneLine(child.subject)}) is not issued by certificate ${i + 2} (${oneLine(parent.subject)}): the chain must be ordered closest first, each certificate followed by its issuer`;
    }
  }
  const last = chain[chain.length - 1];
  if (last && last.x509.checkIssued(last.x509) && !last.x509.verify(last.publicKey)) {
    return `certificate ${chain.length} (${oneLine(last.subject)}) is self-issued but its signature does not verify`;
  }
  return undefined;
}

/** A Name on one line for messages; an empty subject says so instead of printing nothing. */
export function oneLine(name: string | undefined): string {
  const line = (name ?? '').split('\n').filter(Boolean).join(', ');
  return line === '' ? 'empty subject' : line;
}
