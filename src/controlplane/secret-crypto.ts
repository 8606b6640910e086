/**
 * Secrets at rest: AES-256-GCM with a random 96-bit nonce per value; the secret's identity
 * (mesh/name) is bound as associated data so a ciphertext cannot be moved to another row.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readPrivateFile, writePrivateFileExclusive } from './private-files';

export const SECRET_KEY_BYTES = 32;

export interface SealedValue {
  nonce: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export class SecretCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES) throw new Error(`the secret key must be ${SECRET_KEY_BYTES} bytes, got ${key.length}`);
  }

  seal(plaintext: Buffer, associatedData: string): SealedValue {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { nonce, tag: cipher.getAuthTag(), ciphertext };
  }

  open(sealed: SealedValue, associatedData: string): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.nonce);
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(sealed.tag);
    try {
      return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
    } catch {
      // Never echo the data; say what to check.
      throw new Error(`cannot decrypt secret "${associatedData}": the secret key does not match the one the store was written with`);
    }
  }
}

/** Accepts 32 bytes as 64 hex digits or as base64. */
export function parseSecretKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== SECRET_KEY_BYTES) {
    throw new StoreKeyError(`${source} must hold a ${SECRET_KEY_BYTES}-byte key as 64 hex digits or base64 (got ${key.length} bytes)`);
  }
  return key;
}

/** The control plane cannot start on this store; the message is the one line to show. */
export class StoreKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreKeyError';
  }
}

/**
 * The key, in order of preference: given explicitly, `CA_ROTATE_SECRET_KEY`, or a key file next to
 * the store. A new key file (mode 0600) is created only for a new store: a store written with a key
 * that is now missing refuses to start rather than sealing new secrets under a key nobody else has.
 */
export function loadSecretKey(options: { explicit?: Buffer; env?: string; keyFile: string; storeExists: boolean }): Buffer {
  if (options.explicit) return parseSecretKey(options.explicit.length === SECRET_KEY_BYTES ? options.explicit.toString('hex') : options.explicit.toString('utf8'), 'the secretKey option');
  if (options.env) return parseSecretKey(options.env, 'CA_ROTATE_SECRET_KEY');
  const text = readPrivateFile(options.keyFile);
  if (text !== undefined) return parseSecretKey(text, `key file ${options.keyFile}`);
  if (options.storeExists) {
    throw new StoreKeyError(`the store exists but its secret key ${options.keyFile} is missing: restore the key file or set CA_ROTATE_SECRET_KEY (refusing to create a new key over an existing store)`);
  }
  const key = randomBytes(SECRET_KEY_BYTES);
  writePrivateFileExclusive(options.keyFile, `${key.toString('hex')}\n`);
  return key;
}
