/**
 * A minimal DER encoder and reader: just what X.509 certificates and PKCS#10 requests need.
 * Hand-written because issuing is the hot path: building a TBSCertificate from precomputed parts
 * and signing it with node:crypto is far faster than any general ASN.1 library.
 */

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Tag of a context-specific field `[n]`: constructed for EXPLICIT wrappers, primitive for IMPLICIT strings. */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer | readonly Buffer[]): Buffer {
  const body = Buffer.isBuffer(content) ? content : Buffer.concat(content as Buffer[]);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(Tag.SEQUENCE, items);
export const set = (...items: Buffer[]): Buffer => tlv(Tag.SET, items);
export const explicit = (n: number, inner: Buffer): Buffer => tlv(contextTag(n, true), inner);
export const octetString = (bytes: Buffer): Buffer => tlv(Tag.OCTET_STRING, bytes);
export const nullValue = (): Buffer => Buffer.from([Tag.NULL, 0]);
export const booleanValue = (value: boolean): Buffer => Buffer.from([Tag.BOOLEAN, 1, value ? 0xff : 0]);
export const utf8String = (text: string): Buffer => tlv(Tag.UTF8_STRING, Buffer.from(text, 'utf8'));
export const ia5String = (text: string): Buffer => tlv(Tag.IA5_STRING, Buffer.from(text, 'ascii'));

/** A BIT STRING whose content is whole bytes (keys, signatures). */
export const bitString = (bytes: Buffer, unusedBits = 0): Buffer => tlv(Tag.BIT_STRING, [Buffer.from([unusedBits]), bytes]);

/** An INTEGER from unsigned big-endian magnitude bytes: minimal, and positive (a 0x00 prefix when the top bit is set). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const needsPad = trimmed.length === 0 || (trimmed[0] as number) & 0x80;
  return tlv(Tag.INTEGER, needsPad ? [Buffer.from([0]), trimmed] : [trimmed]);
}

export function smallInteger(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  do {
    bytes.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  return unsignedInteger(Buffer.from(bytes));
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const [first, second, ...rest] = parts;
  if (first === undefined || second === undefined || parts.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new Error(`not an OID: ${dotted}`);
  }
  const bytes: number[] = [first * 40 + second];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(Tag.OID, Buffer.from(bytes));
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** X.509 time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). Whole seconds. */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  const rest = `${pad2(date.getUTCMonth() + 1)}${pad2(date.getUTCDate())}${pad2(date.getUTCHours())}${pad2(date.getUTCMinutes())}${pad2(date.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return tlv(Tag.UTC_TIME, Buffer.from(`${pad2(year % 100)}${rest}`, 'ascii'));
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(`${String(year).padStart(4, '0')}${rest}`, 'ascii'));
}

/** One decoded TLV: positions into the buffer it came from, so sub-slices are free. */
export interface DerNode {
  tag: number;
  /** The whole element, header included. */
  raw: Buffer;
  /** The content octets. */
  content: Buffer;
}

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** Reads the element starting at `offset`; throws DerError on truncated or malformed input. */
export function readNode(buffer: Buffer, offset = 0): DerNode {
  if (offset + 2 > buffer.length) throw new DerError('truncated DER element');
  const tag = buffer[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported');
  let length = buffer[offset + 1] as number;
  let headerLength = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new DerError('unsupported DER length');
    if (offset + 2 + count > buffer.length) throw new DerError('truncated DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buffer[offset + 2 + i] as number);
    headerLength += count;
  }
  const end = offset + headerLength + length;
  if (end > buffer.length) throw new DerError('DER element runs past the end of its input');
  return { tag, raw: buffer.subarray(offset, end), content: buffer.subarray(offset + headerLength, end) };
}

/** Reads exactly one element that fills the whole buffer. */
export function readSingle(buffer: Buffer): DerNode {
  const node = readNode(buffer, 0);
  if (node.raw.length !== buffer.length) throw new DerError('trailing bytes after DER element');
  return node;
}

/** The children of a constructed element. */
export function children(node: DerNode): DerNode[] {
  const result: DerNode[] = [];
  for (let offset = 0; offset < node.content.length; ) {
    const child = readNode(node.content, offset);
    result.push(child);
    offset += child.raw.length;
  }
  return result;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return node;
}

export function decodeOid(node: DerNode): string {
  expectTag(node, Tag.OID, 'OID');
  const bytes = node.content;
  if (bytes.length === 0) throw new DerError('empty OID');
  const first = bytes[0] as number;
  const arcs = [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80];
  let value = 0;
  for (let i = 1; i < bytes.length; i++) {
    const b = bytes[i] as number;
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

/** The bytes of a BIT STRING, requiring whole bytes (keys, signatures). */
export function bitStringBytes(node: DerNode): Buffer {
  expectTag(node, Tag.BIT_STRING, 'BIT STRING');
  if (node.content.length === 0) throw new DerError('empty BIT STRING');
  return node.content.subarray(1);
}

/** Named bits of a BIT STRING (bit 0 is the most significant bit of the first byte). */
export function bitStringFlags(node: DerNode): Set<number> {
  const bytes = bitStringBytes(node);
  const flags = new Set<number>();
  bytes.forEach((byte, index) => {
    for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) flags.add(index * 8 + bit);
  });
  return flags;
}

/** A named-bit BIT STRING in DER form: trailing zero bits dropped, their count stated. */
export function namedBits(bits: readonly number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)] = (bytes[Math.floor(bit / 8)] as number) | (0x80 >> bit % 8);
  return bitString(bytes, 7 - (highest % 8));
}
