/**
 * The few DER encodings a PKCS#10 request needs. Hand-written so the data plane does not pull a full
 * ASN.1 stack into every host process (and stays free of @peculiar/x509's reflection polyfill).
 */

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function derElement(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export const derSequence = (...items: Buffer[]): Buffer => derElement(0x30, Buffer.concat(items));
export const derSet = (...items: Buffer[]): Buffer => derElement(0x31, Buffer.concat(items));
export const derUtf8String = (text: string): Buffer => derElement(0x0c, Buffer.from(text, 'utf8'));
export const derNull = (): Buffer => Buffer.from([0x05, 0x00]);
/** BIT STRING with no unused bits (signatures, keys). */
export const derBitString = (bytes: Buffer): Buffer => derElement(0x03, Buffer.concat([Buffer.from([0x00]), bytes]));

export function derSmallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0x7f) throw new RangeError(`derSmallInteger: ${value} out of range`);
  return derElement(0x02, Buffer.from([value]));
}

export function derObjectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => Number.parseInt(arc, 10));
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0)) {
    throw new Error(`invalid object identifier ${dotted}`);
  }
  const bytes: number[] = [first * 40 + second];
  for (const arc of rest) {
    const base128: number[] = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) base128.unshift((value & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return derElement(0x06, Buffer.from(bytes));
}

/** A context-specific constructed tag, `[n]` (IMPLICIT: the caller passes the inner content). */
export const derContextConstructed = (tagNumber: number, content: Buffer): Buffer => derElement(0xa0 | tagNumber, content);

export function pemEncode(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
