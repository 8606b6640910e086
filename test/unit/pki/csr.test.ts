import { CsrError, createCsr, csrFromPem, csrToPem, parseAndVerifyCsr } from '../../../src/pki/csr';
import { generateKeyPair, rsa, subjectPublicKeyInfo } from '../../../src/pki/keys';

describe('CSRs', () => {
  it.each([
    ['ECDSA P-256', undefined],
    ['RSA-2048', rsa(2048)],
  ])('round-trip for %s keys: the verified CSR carries the requester public key', async (_name, spec) => {
    const { privateKey } = await generateKeyPair(spec);
    const der = csrFromPem(csrToPem(createCsr(privateKey, { commonName: 'web' })));
    expect(parseAndVerifyCsr(der).subjectPublicKeyInfo).toEqual(subjectPublicKeyInfo(privateKey));
  });

  it('rejects a CSR whose signature does not match its key', async () => {
    const der = createCsr((await generateKeyPair()).privateKey);
    const tampered = Buffer.from(der);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 3) ^ 0xff, tampered.length - 3);
    expect(() => parseAndVerifyCsr(tampered)).toThrow(CsrError);
  });

  it.each([
    ['empty input', Buffer.alloc(0)],
    ['junk', Buffer.from('not a csr at all')],
    ['a certificate-shaped sequence', Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])],
  ])('rejects %s with CsrError', (_name, input) => {
    expect(() => parseAndVerifyCsr(input)).toThrow(CsrError);
  });
});
