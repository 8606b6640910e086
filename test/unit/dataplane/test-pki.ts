/**
 * Test CAs and identity certificates, made with @peculiar/x509 the way a mesh CA would: the leaf is
 * signed for the public key of the proxy's own CSR, with a SPIFFE URI SAN.
 */
import { webcrypto } from 'node:crypto';
import type { ProxyConfigEvent } from '../../../src/mesh/dataplane-api';
import type { DataplaneProxy } from '../../../src/dataplane/proxy';

// @peculiar/x509 registers its algorithms through tsyringe, which needs the reflect-metadata API.
// The project does not ship that package; this is the subset tsyringe calls.
installReflectMetadata();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const x509 = require('@peculiar/x509') as typeof import('@peculiar/x509');
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
let serial = 1;

export interface TestCa {
  name: string;
  pem: string;
  keys: webcrypto.CryptoKeyPair;
  certificate: import('@peculiar/x509').X509Certificate;
}

export async function createTestCa(name: string): Promise<TestCa> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys,
    signingAlgorithm: ALGORITHM,
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name, pem: certificate.toString('pem'), keys, certificate };
}

type SanEntry = { type: 'url' | 'dns' | 'ip'; value: string };

/** A leaf for `publicKey` signed by `ca`: serverAuth and clientAuth, with the given SANs. */
async function signLeaf(ca: TestCa, subject: string, publicKey: import('@peculiar/x509').PublicKeyType, sans: SanEntry[]): Promise<string> {
  const certificate = await x509.X509CertificateGenerator.create({
    subject,
    issuer: ca.certificate.subject,
    publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALGORITHM,
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    extensions: [
      new x509.SubjectAlternativeNameExtension(sans),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
    ],
  });
  return certificate.toString('pem');
}

/** Signs the public key of `csrPem` with `ca`, with URI SANs `uris`. */
export async function issueFromCsr(ca: TestCa, csrPem: string, uris: string[]): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  if (!(await csr.verify())) throw new Error('CSR signature does not verify');
  return signLeaf(ca, csr.subject, csr.publicKey, uris.map((value) => ({ type: 'url', value })));
}

/** A TLS server or client identity (DNS / IP SANs) with its key, as PEM. */
export async function issueTlsIdentity(ca: TestCa, names: { dns?: string[]; ips?: string[] }): Promise<{ certificatePem: string; privateKeyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const sans: SanEntry[] = [...(names.dns ?? []).map((value) => ({ type: 'dns' as const, value })), ...(names.ips ?? []).map((value) => ({ type: 'ip' as const, value }))];
  const certificatePem = await signLeaf(ca, `CN=${sans[0]?.value ?? 'client'}`, keys.publicKey, sans);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const privateKeyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { certificatePem, privateKeyPem };
}

let version = 1;

/** A config event as the control plane sends it: `trusted` CAs as bundle, a leaf from `issuer` (unless null). */
export async function configFor(
  proxy: DataplaneProxy,
  trusted: TestCa[],
  issuer: TestCa | null,
  uris: string[] = [proxy.spiffeId],
): Promise<ProxyConfigEvent> {
  const certificatePem = issuer ? await issueFromCsr(issuer, proxy.registration().csr, uris) : undefined;
  return {
    mesh: proxy.descriptor.mesh,
    name: proxy.name,
    version: version++,
    trustBundle: trusted.map((ca) => ({ backend: ca.name, pem: ca.pem })),
    certificate: certificatePem ? { pem: certificatePem, chain: [], backend: issuer?.name } : null,
  };
}

function installReflectMetadata(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === 'function') return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  const own = (target: object) => {
    let metadata = store.get(target);
    if (!metadata) store.set(target, (metadata = new Map()));
    return metadata;
  };
  reflect.defineMetadata = (key: unknown, value: unknown, target: object) => void own(target).set(key, value);
  reflect.getOwnMetadata = (key: unknown, target: object) => store.get(target)?.get(key);
  reflect.getMetadata = (key: unknown, target: object) => {
    for (let current: object | null = target; current; current = Object.getPrototypeOf(current) as object | null) {
      const value = store.get(current)?.get(key);
      if (value !== undefined) return value;
    }
    return undefined;
  };
}
