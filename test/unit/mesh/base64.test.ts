import { decodeBase64, encodeBase64, isBase64 } from '../../../src/mesh/base64';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('base64', () => {
  it.each(['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar', '-----BEGIN CERTIFICATE-----\nMIIB\n'])('round-trips %p and agrees with Node', (text) => {
    const encoded = encodeBase64(utf8(text));
    expect(encoded).toBe(Buffer.from(text).toString('base64'));
    expect(Buffer.from(decodeBase64(encoded) ?? []).toString('utf8')).toBe(text);
  });

  it('round-trips every byte value', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(decodeBase64(encodeBase64(bytes))).toEqual(bytes);
  });

  it('accepts unpadded input, as Kuma does', () => {
    expect(Buffer.from(decodeBase64('Zm9vYg') ?? []).toString()).toBe('foob');
  });

  it.each([
    ['Zm9v!', 'a character outside the alphabet'],
    ['Zm9v YmFy', 'whitespace'],
    ['Zm9vY', 'a dangling 6 bits'],
    ['Zm9=v', 'padding in the middle'],
    ['Zm9vYg=', 'incomplete padding'],
    ['Zg===', 'too much padding'],
    ['-----BEGIN CERTIFICATE-----', 'PEM text'],
  ])('rejects %p (%s)', (text) => {
    expect(isBase64(text)).toBe(false);
    expect(decodeBase64(text)).toBeUndefined();
  });
});
