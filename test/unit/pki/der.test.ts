import { children, decodeOid, namedBits, oid, readSingle, time, unsignedInteger } from '../../../src/pki/der';

describe('DER', () => {
  it('encodes OIDs with multi-byte arcs and decodes them back', () => {
    expect(oid('1.2.840.113549.1.1.11').toString('hex')).toBe('06092a864886f70d01010b');
    expect(decodeOid(readSingle(oid('2.5.29.17')))).toBe('2.5.29.17');
  });

  it('encodes INTEGERs minimally and positive', () => {
    expect(unsignedInteger(Buffer.from([0x00, 0x00, 0x7f])).toString('hex')).toBe('02017f');
    expect(unsignedInteger(Buffer.from([0x80])).toString('hex')).toBe('02020080');
  });

  it('drops trailing zero bits from named-bit BIT STRINGs (digitalSignature + keyEncipherment)', () => {
    expect(namedBits([0, 2]).toString('hex')).toBe('030205a0');
  });

  it('uses UTCTime before 2050 and GeneralizedTime from 2050', () => {
    expect(time(new Date('2049-12-31T23:59:59Z')).toString('latin1')).toContain('491231235959Z');
    expect(time(new Date('2050-01-01T00:00:00Z')).toString('latin1')).toContain('20500101000000Z');
  });

  it('reads long-form lengths and rejects truncated input', () => {
    const long = Buffer.concat([Buffer.from([0x30, 0x81, 0x80]), Buffer.alloc(0x80, 0x05)]);
    expect(readSingle(long).content).toHaveLength(0x80);
    expect(() => readSingle(long.subarray(0, 50))).toThrow(/past the end/);
    expect(() => children(readSingle(Buffer.from([0x30, 0x02, 0x02, 0x05])))).toThrow();
  });
});
