import { X509Certificate } from 'node:crypto';
import { generateCa } from '../../../src/pki/ca-certificate';
import { parseCertificateDer, sha256Fingerprint } from '../../../src/pki/certificate';
import { CsrError, createCsr, parseAndVerifyCsr } from '../../../src/pki/csr';
import { LeafSigner, NOT_BEFORE_SKEW_MS, identityUris } from '../../../src/pki/identity';
import { LeafIssuer } from '../../../src/pki/leaf-issuer';
import { generateKeyPair, rsa } from '../../../src/pki/keys';
import { KeyUsageBit, OID } from '../../../src/pki/oids';

const DAY_MS = 24 * 3600 * 1000;

describe('identity certificates', () => {
  it('carry the SPIFFE and kuma URIs, serverAuth+clientAuth, CA:FALSE, a random 64+ bit serial and NotBefore 10 s early', async () => {
    const ca = await generateCa({ commonName: 'default-ca CA test' });
    const proxy = await generateKeyPair();
    const csr = parseAndVerifyCsr(createCsr(proxy.privateKey, { commonName: 'web' }));
    const signer = new LeafSigner(ca.certificate, ca.privateKey);
    const now = new Date('2030-06-01T12:00:00.000Z');
    const uris = identityUris('default', 'web', { 'kuma.io/service': 'web', version: 'v2' });
    const leaf = signer.sign({ csr, uris, validityMs: DAY_MS, now });

    const x509 = new X509Certificate(leaf.der);
    expect(x509.subjectAltName).toBe('URI:spiffe://default/web, URI:kuma://kuma.io/service/web, URI:kuma://version/v2');
    expect(x509.keyUsage).toEqual(expect.arrayContaining([OID.serverAuth, OID.clientAuth])); // Node names EKU "keyUsage"
    expect(x509.ca).toBe(false);
    expect(x509.verify(ca.certificate.publicKey)).toBe(true);
    expect(x509.checkIssued(ca.certificate.x509)).toBe(true);
    expect(new Date(x509.validFrom).getTime()).toBe(now.getTime() - NOT_BEFORE_SKEW_MS);
    expect(new Date(x509.validTo).getTime()).toBe(now.getTime() + DAY_MS);
    expect(x509.serialNumber.replace(/^0+/, '').length).toBeGreaterThanOrEqual(16);
    expect(x509.publicKey.export({ format: 'der', type: 'spki' })).toEqual(proxy.publicKey.export({ format: 'der', type: 'spki' }));

    const info = parseCertificateDer(leaf.der);
    // An EC key signs; it never enciphers (RFC 5480 section 3).
    expect(info.keyUsage).toEqual(new Set([KeyUsageBit.digitalSignature]));
    expect(info.authorityKeyId).toEqual(ca.certificate.subjectKeyId);
    expect(info.subjectKeyId).toHaveLength(20);
    expect(info.fingerprint).toBe(sha256Fingerprint(leaf.der));
  });

  it('never outlive their CA', async () => {
    const ca = await generateCa({ commonName: 'short CA', validityMs: 3600_000 });
    const csr = parseAndVerifyCsr(createCsr((await generateKeyPair()).privateKey));
    const leaf = new LeafSigner(ca.certificate, ca.privateKey).sign({ csr, uris: ['spiffe://m/s'], validityMs: 10 * DAY_MS });
    expect(leaf.notAfter.getTime()).toBeLessThanOrEqual(ca.certificate.notAfter.getTime());
  });

  it('get distinct serials', async () => {
    const ca = await generateCa({ commonName: 'serials CA' });
    const csr = parseAndVerifyCsr(createCsr((await generateKeyPair()).privateKey));
    const signer = new LeafSigner(ca.certificate, ca.privateKey);
    const serials = new Set(Array.from({ length: 200 }, () => new X509Certificate(signer.sign({ csr, uris: ['spiffe://m/s'], validityMs: DAY_MS }).der).serialNumber));
    expect(serials.size).toBe(200);
  });

  it('are signed by an RSA CA with sha256WithRSAEncryption and verify', async () => {
    const ca = await generateCa({ commonName: 'rsa CA', keySpec: rsa(2048) });
    const csr = parseAndVerifyCsr(createCsr((await generateKeyPair(rsa(2048))).privateKey));
    const der = new LeafSigner(ca.certificate, ca.privateKey).sign({ csr, uris: ['spiffe://m/s'], validityMs: DAY_MS }).der;
    expect(new X509Certificate(der).verify(ca.certificate.publicKey)).toBe(true);
    // An RSA subject key may also encipher (RSA key transport).
    expect(parseCertificateDer(der).keyUsage).toEqual(new Set([KeyUsageBit.digitalSignature, KeyUsageBit.keyEncipherment]));
  });

  it('refuse a CA key that does not match the CA certificate', async () => {
    const ca = await generateCa({ commonName: 'a CA' });
    const other = await generateKeyPair();
    expect(() => new LeafSigner(ca.certificate, other.privateKey)).toThrow(/does not match/);
  });
});

describe('LeafIssuer', () => {
  it('issues in this thread and on worker threads alike, and rejects a tampered CSR on both paths', async () => {
    const ca = await generateCa({ commonName: 'pool CA' });
    const csrs = await Promise.all(Array.from({ length: 20 }, async () => createCsr((await generateKeyPair()).privateKey)));
    const tampered = Buffer.from(csrs[0] as Buffer);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 5) ^ 0x01, tampered.length - 5); // inside the signature
    for (const options of [{ threads: 0 }, { threads: 2, poolThreshold: 1 }]) {
      const issuer = new LeafIssuer(ca.certificate, ca.privateKey, options);
      try {
        const results = await Promise.allSettled([...csrs, tampered].map((csrDer) => issuer.issue({ csrDer, uris: ['spiffe://m/s'], validityMs: DAY_MS })));
        const good = results.slice(0, 20);
        expect(good.every((r) => r.status === 'fulfilled' && new X509Certificate(r.value.der).verify(ca.certificate.publicKey))).toBe(true);
        const bad = results[20];
        expect(bad?.status).toBe('rejected');
        expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(CsrError);
      } finally {
        await issuer.close();
      }
    }
  });
});
