/**
 * Base64 without Buffer or atob: this code also runs inside Temporal workflow sandboxes.
 * Kuma stores secret data and `inline` data sources as standard base64 (RFC 4648, section 4).
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUE_OF = new Map<string, number>([...ALPHABET].map((char, index) => [char, index]));

/**
 * Standard base64: alphabet `A–Z a–z 0–9 + /`, no whitespace. Padding with `=` is optional (Kuma's
 * protobuf JSON decoder accepts both) but, when present, must complete a 4-character group.
 */
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

export function isBase64(text: string): boolean {
  return BASE64_PATTERN.test(text);
}

/** The bytes `text` encodes, or undefined when it is not base64 (see isBase64). */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!isBase64(text)) return undefined;
  const digits = text.replace(/=+$/, '');
  const bytes = new Uint8Array(Math.floor((digits.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let written = 0;
  for (const char of digits) {
    buffer = (buffer << 6) | (VALUE_OF.get(char) ?? 0);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[written++] = (buffer >> bits) & 0xff;
    }
  }
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const chunk = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const present = Math.min(3, bytes.length - i);
    for (let k = 0; k < 4; k++) {
      out += k <= present ? ALPHABET[(chunk >> (18 - 6 * k)) & 0x3f] : '=';
    }
  }
  return out;
}
