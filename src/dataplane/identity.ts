/**
 * A proxy's identity key pair and its certificate signing request (built by src/pki). The private key is
 * created here and never leaves the process: it is reachable only through `tlsKeyPem()` (to build TLS
 * contexts), is not enumerable, and the object prints as a redacted placeholder.
 */
import type { KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { createCsr, csrToPem } from '../pki/csr';
import { ECDSA_P256, generateKeyPair, privateKeyToPem, rsa } from '../pki/keys';

export type ProxyKeyType = 'ecdsa-p256' | 'rsa-2048';

export class ProxyKey {
  readonly #privateKey: KeyObject;
  readonly #privateKeyPem: string;

  private constructor(
    readonly type: ProxyKeyType,
    privateKey: KeyObject,
    readonly publicKey: KeyObject,
  ) {
    this.#privateKey = privateKey;
    this.#privateKeyPem = privateKeyToPem(privateKey);
  }

  static async generate(type: ProxyKeyType = 'ecdsa-p256'): Promise<ProxyKey> {
    const pair = await generateKeyPair(type === 'ecdsa-p256' ? ECDSA_P256 : rsa(2048));
    return new ProxyKey(type, pair.privateKey, pair.publicKey);
  }

  /** For `tls.createSecureContext` only. */
  tlsKeyPem(): string {
    return this.#privateKeyPem;
  }

  /** PKCS#10 request (PEM) signed with this key; the CA takes the identity from the registration, not the subject. */
  createCsrPem(commonName: string): string {
    return csrToPem(createCsr(this.#privateKey, { commonName }));
  }

  toJSON(): string {
    return `[ProxyKey ${this.type}]`;
  }

  [inspect.custom](): string {
    return this.toJSON();
  }
}
