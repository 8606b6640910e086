import { X509Certificate } from 'node:crypto';
import { providedBackend } from '../../../src/ca/provided';
import { MemorySecretStore } from '../../../src/ca/memory-secret-store';
import { CaConfigError, CaRequestError, type CaContext } from '../../../src/ca/types';
import { Issues } from '../../../src/mesh/validate-issues';
import type { Backend, ValidationResult } from '../../../src/mesh/schema';
import { CaOptions, GeneratedCa, generateCa } from '../../../src/pki/ca-certificate';
import { createCsr } from '../../../src/pki/csr';
import { generateKeyPair, rsa } from '../../../src/pki/keys';
import { KeyUsageBit } from '../../../src/pki/oids';

const DAY_MS = 24 * 3600 * 1000;
const PREFIX = 'mtls.backends[1]';
const CERT_PATH = `${PREFIX}.conf.cert`;
const KEY_PATH = `${PREFIX}.conf.key`;

function context(): CaContext {
  return { mesh: 'default', secrets: new MemorySecretStore() };
}

function backendWith(cert: unknown, key: unknown): Backend {
  return { name: 'ca-2', type: 'provided', conf: { cert, key } };
}

const inlineString = (text: string) => ({ inlineString: text });
const ca = (options: Partial<CaOptions> = {}): Promise<GeneratedCa> => generateCa({ commonName: 'provided CA', ...options });

async function validateIn(ctx: CaContext, backend: Backend): Promise<ValidationResult> {
  const issues = Issues.collect();
  await providedBackend.validate(ctx, backend, issues.at(PREFIX));
  return issues.result;
}

const validate = (cert: unknown, key: unknown): Promise<ValidationResult> => validateIn(context(), backendWith(cert, key));

function expectError(result: ValidationResult, path: string, pattern: RegExp): void {
  expect(result.errors).toEqual(expect.arrayContaining([{ path, message: expect.stringMatching(pattern) }]));
}

describe('provided CA validation', () => {
  it('accepts a valid CA with no issues, from inline (base64), inlineString and secret sources', async () => {
    const good = await ca();
    const ctx = context();
    (ctx.secrets as MemorySecretStore).set('default', 'ca-key', Buffer.from(good.privateKeyPem));
    const result = await validateIn(ctx, backendWith({ inline: Buffer.from(good.certificatePem).toString('base64') }, { secret: 'ca-key' }));
    expect(result).toEqual({ errors: [], warnings: [] });
    expect(await validate(inlineString(good.certificatePem), inlineString(good.privateKeyPem))).toEqual({ errors: [], warnings: [] });
  });

  it('accepts a chain ordered closest first (intermediate, root) with the intermediate key', async () => {
    const root = await ca({ commonName: 'root' });
    const intermediate = await ca({ commonName: 'intermediate', issuer: root });
    const result = await validate(inlineString(intermediate.certificatePem + root.certificatePem), inlineString(intermediate.privateKeyPem));
    expect(result).toEqual({ errors: [], warnings: [] });
  });

  it('warns about a chain in the wrong order, which Kuma accepts', async () => {
    const root = await ca({ commonName: 'root' });
    const intermediate = await ca({ commonName: 'intermediate', issuer: root });
    const result = await validate(inlineString(root.certificatePem + intermediate.certificatePem), inlineString(root.privateKeyPem));
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([{ path: CERT_PATH, message: expect.stringMatching(/ordered closest first.*Kuma accepts/) }]);
  });

  it('rejects a certificate that is not a CA (CA:FALSE)', async () => {
    const notCa = await ca({ isCa: false });
    expectError(await validate(inlineString(notCa.certificatePem), inlineString(notCa.privateKeyPem)), CERT_PATH, /basic constraint 'CA' must be set to 'true'/);
  });

  it('rejects a CA without keyCertSign and one with keyAgreement', async () => {
    const noCertSign = await ca({ keyUsageBits: [KeyUsageBit.digitalSignature] });
    expectError(await validate(inlineString(noCertSign.certificatePem), inlineString(noCertSign.privateKeyPem)), CERT_PATH, /keyCertSign/);
    const agreement = await ca({ keyUsageBits: [KeyUsageBit.keyCertSign, KeyUsageBit.keyAgreement] });
    expectError(await validate(inlineString(agreement.certificatePem), inlineString(agreement.privateKeyPem)), CERT_PATH, /keyAgreement/);
  });

  it('rejects an expired CA and one not yet valid', async () => {
    const expired = await ca({ notBefore: new Date(Date.now() - 10 * DAY_MS), validityMs: DAY_MS });
    expectError(await validate(inlineString(expired.certificatePem), inlineString(expired.privateKeyPem)), CERT_PATH, /expired at .*stricter than Kuma on purpose/);
    const future = await ca({ notBefore: new Date(Date.now() + DAY_MS) });
    expectError(await validate(inlineString(future.certificatePem), inlineString(future.privateKeyPem)), CERT_PATH, /not valid before .*stricter than Kuma on purpose/);
  });

  it('warns (only) when the CA expires within 30 days', async () => {
    const soon = await ca({ notBefore: new Date(Date.now() - DAY_MS), validityMs: 11 * DAY_MS });
    const result = await validate(inlineString(soon.certificatePem), inlineString(soon.privateKeyPem));
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([{ path: CERT_PATH, message: expect.stringMatching(/less than 30 days/) }]);
  });

  it('rejects RSA keys below 2048 bits', async () => {
    const weak = await ca({ keySpec: rsa(1024) });
    const result = await validate(inlineString(weak.certificatePem), inlineString(weak.privateKeyPem));
    expectError(result, CERT_PATH, /1024 bits.*stricter than Kuma on purpose/);
    expectError(result, KEY_PATH, /1024 bits.*stricter than Kuma on purpose/);
  });

  it('rejects a key that does not match the first certificate', async () => {
    const one = await ca();
    const other = await ca();
    expectError(await validate(inlineString(one.certificatePem), inlineString(other.privateKeyPem)), KEY_PATH, /does not match/);
  });

  it.each([
    ['junk instead of PEM', inlineString('hello'), CERT_PATH, /no PEM CERTIFICATE/],
    ['a PEM block of junk', inlineString('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), CERT_PATH, /cannot be parsed/],
    ['bad base64', { inline: '%%% not base64' }, `${CERT_PATH}.inline`, /not valid base64/],
    ['a missing secret', { secret: 'nope' }, `${CERT_PATH}.secret`, /does not exist/],
    ['a missing file', { file: '/nonexistent/ca.pem' }, `${CERT_PATH}.file`, /ENOENT/],
    ['two sources at once', { inlineString: 'a', file: '/x' }, CERT_PATH, /exactly one/],
    ['no source', undefined, CERT_PATH, /missing/],
    ['a number', 42, CERT_PATH, /expected object/],
  ])('reports %s as an error with its path, without throwing', async (_name, certSource, path, pattern) => {
    const good = await ca();
    expectError(await validate(certSource, inlineString(good.privateKeyPem)), path, pattern);
  });

  it('reports a junk key without quoting it', async () => {
    const good = await ca();
    const secretLooking = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n';
    const result = await validate(inlineString(good.certificatePem), inlineString(secretLooking));
    expectError(result, KEY_PATH, /cannot be parsed/);
    expect(JSON.stringify(result)).not.toContain('c2VjcmV0');
  });

  it('refuses to open an issuer for an invalid CA, naming the path', async () => {
    const notCa = await ca({ isCa: false });
    const opening = providedBackend.openIssuer(context(), backendWith(inlineString(notCa.certificatePem), inlineString(notCa.privateKeyPem)));
    await expect(opening).rejects.toBeInstanceOf(CaConfigError);
    await expect(opening).rejects.toThrow(
      expect.objectContaining({ name: 'CaConfigError', retryable: false, path: 'conf.cert', message: expect.stringMatching(/backend "ca-2": conf\.cert: .*basic constraint 'CA'/) }),
    );
  });
});

describe('provided CA issuing', () => {
  it('issues from the first certificate, sends the intermediate along, and trusts the whole chain', async () => {
    const root = await ca({ commonName: 'root' });
    const intermediate = await ca({ commonName: 'intermediate', issuer: root });
    const backend: Backend = { ...backendWith(inlineString(intermediate.certificatePem + root.certificatePem), inlineString(intermediate.privateKeyPem)), dpCert: { rotation: { expiration: '2h' } } };
    const issuer = await providedBackend.openIssuer(context(), backend);
    try {
      const issued = await issuer.issue({ csrDer: createCsr((await generateKeyPair()).privateKey), service: 'web', tags: { 'kuma.io/service': 'web' } });
      const leaf = new X509Certificate(issued.certificatePem);
      expect(leaf.verify(intermediate.certificate.publicKey)).toBe(true);
      expect(issued.issuerFingerprint).toBe(intermediate.certificate.fingerprint);
      expect(issued.chainPem).toEqual([intermediate.certificatePem]);
      const lifetime = new Date(issued.expiresAt).getTime() - Date.now();
      expect(lifetime).toBeGreaterThan(2 * 3600_000 - 60_000);
      expect(lifetime).toBeLessThanOrEqual(2 * 3600_000);
    } finally {
      await issuer.close?.();
    }
    expect(await providedBackend.rootCertificates(context(), backend)).toEqual([intermediate.certificatePem, root.certificatePem]);
  });

  it('rejects a CSR that does not verify with CaRequestError (permanent for that request only)', async () => {
    const good = await ca();
    const issuer = await providedBackend.openIssuer(context(), backendWith(inlineString(good.certificatePem), inlineString(good.privateKeyPem)));
    try {
      await expect(issuer.issue({ csrDer: Buffer.from('junk'), service: 'web', tags: {} })).rejects.toThrow(CaRequestError);
    } finally {
      await issuer.close?.();
    }
  });
});
