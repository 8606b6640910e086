import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Backend, Mesh, ValidationIssue } from '../../../src/mesh/schema';
import { validateDocuments, validateMesh } from '../../../src/mesh/validate';

const fixture = (name: string) => readFileSync(path.resolve(__dirname, '../../fixtures/mesh', name), 'utf8');

const builtin: Backend = { name: 'ca-1', type: 'builtin' };
const provided: Backend = { name: 'ca-2', type: 'provided', conf: { cert: { secret: 'ca-2-cert' }, key: { secret: 'ca-2-key' } } };
const vault: Backend = {
  name: 'ca-3',
  type: 'vault',
  conf: {
    fromCp: {
      address: 'https://vault.example.com:8200',
      pki: 'kuma-pki-default',
      role: 'dataplane-proxies',
      tls: { caCert: { secret: 'vault-ca' } },
      auth: { token: { secret: 'vault-token' } },
    },
  },
};
const KNOWN = new Set(['ca-2-cert', 'ca-2-key', 'vault-ca', 'vault-token']);

/** `enabledBackend: null` leaves it out (mTLS off). */
function meshWith(backends: unknown[], enabledBackend: string | null = 'ca-1'): Mesh {
  return { type: 'Mesh', name: 'default', mtls: { ...(enabledBackend === null ? {} : { enabledBackend }), backends: backends as Backend[] } };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the cases reach into arbitrary nested fields to break them
type Untyped = any;

/** A deep copy of `backend` with `change` applied to it. */
function variant(backend: Backend, change: (copy: Untyped) => void): Backend {
  const copy: Untyped = structuredClone(backend);
  change(copy);
  return copy as Backend;
}

function errorsOf(mesh: Mesh): ValidationIssue[] {
  return validateMesh(mesh, KNOWN).errors;
}

describe('validateMesh', () => {
  it('accepts builtin, provided and vault backends together', () => {
    expect(validateMesh(meshWith([builtin, provided, vault]), KNOWN)).toEqual({ errors: [], warnings: [] });
  });

  it('accepts a mesh without mTLS', () => {
    expect(validateMesh({ type: 'Mesh', name: 'default' }, KNOWN)).toEqual({ errors: [], warnings: [] });
  });

  it('warns when backends are defined but none is enabled (mTLS off)', () => {
    expect(validateMesh(meshWith([builtin], null), KNOWN)).toEqual({
      errors: [],
      warnings: [{ path: 'mtls.enabledBackend', message: expect.stringContaining('mTLS is disabled') }],
    });
  });

  type Case = [string, Mesh, string, string];
  const cases: Case[] = [
    ['duplicate backend names', meshWith([builtin, provided, { ...builtin, type: 'builtin' }]), 'mtls.backends[2].name', '"ca-1" is already the name of mtls.backends[0]'],
    ['enabledBackend not among the backends', meshWith([builtin, provided], 'ca-9'), 'mtls.enabledBackend', 'has to be one of "ca-1", "ca-2"'],
    ['enabledBackend with no backends', meshWith([], 'ca-1'), 'mtls.enabledBackend', 'mtls.backends, which is empty'],
    ['an unknown backend type', meshWith([builtin, { name: 'ca-2', type: 'acmpca' }]), 'mtls.backends[1].type', 'unknown backend type "acmpca": use one of builtin, provided, vault'],
    ['an upper-case backend name', meshWith([builtin, { ...provided, name: 'CA-2' }]), 'mtls.backends[1].name', '"CA-2" is not a valid backend name'],
    ['a backend name ending in a dash', meshWith([builtin, { ...provided, name: 'ca-' }]), 'mtls.backends[1].name', 'is not a valid backend name'],
    ['a backend name with a dot', meshWith([builtin, { ...provided, name: 'ca.2' }]), 'mtls.backends[1].name', 'is not a valid backend name'],
    ['a backend name of 64 characters', meshWith([builtin, { ...provided, name: 'a'.repeat(64) }]), 'mtls.backends[1].name', 'at most 63'],
    ['an empty backend name', meshWith([builtin, { ...provided, name: '' }]), 'mtls.backends[1].name', 'is required'],
    ['a bad dpCert.rotation.expiration', meshWith([{ ...builtin, dpCert: { rotation: { expiration: '1 day' } } }]), 'mtls.backends[0].dpCert.rotation.expiration', '"1 day" is not a duration'],
    ['a negative dpCert.requestTimeout', meshWith([{ ...builtin, dpCert: { requestTimeout: '-10s' } }]), 'mtls.backends[0].dpCert.requestTimeout', 'e.g. 24h'],
    ['a bad rootChain.requestTimeout', meshWith([{ ...builtin, rootChain: { requestTimeout: '10' } }]), 'mtls.backends[0].rootChain.requestTimeout', '"10" is not a duration'],
    ['a bad builtin caCert.expiration', meshWith([{ ...builtin, conf: { caCert: { expiration: '10 years' } } }]), 'mtls.backends[0].conf.caCert.expiration', 'is not a duration'],
    ['a duration that is a number', meshWith([{ ...builtin, conf: { caCert: { expiration: 10 } } }]), 'mtls.backends[0].conf.caCert.expiration', '10 is not a duration'],
    ['RSAbits below 2048', meshWith([{ ...builtin, conf: { caCert: { RSAbits: 1024 } } }]), 'mtls.backends[0].conf.caCert.RSAbits', 'at least 2048'],
    ['RSAbits as a string', meshWith([{ ...builtin, conf: { caCert: { RSAbits: '4096' } } }]), 'mtls.backends[0].conf.caCert.RSAbits', '"4096" is not a usable RSA key size'],
    ['RSAbits not a whole number', meshWith([{ ...builtin, conf: { caCert: { RSAbits: 2048.5 } } }]), 'mtls.backends[0].conf.caCert.RSAbits', 'whole number'],
    ['an unknown mode', meshWith([{ ...builtin, mode: 'LAX' as 'STRICT' }]), 'mtls.backends[0].mode', '"LAX" is not a mode: use STRICT or PERMISSIVE'],
    ['a provided backend without conf', meshWith([builtin, { name: 'ca-2', type: 'provided' }]), 'mtls.backends[1].conf', 'needs conf.cert and conf.key'],
    ['a provided backend without a key', meshWith([builtin, variant(provided, (b) => delete b.conf.key)]), 'mtls.backends[1].conf.key', 'is required: the CA private key'],
    ['a data source with two sources', meshWith([builtin, variant(provided, (b) => (b.conf.cert.file = '/ca.pem'))]), 'mtls.backends[1].conf.cert', 'has both secret and file'],
    ['a data source with no source', meshWith([builtin, variant(provided, (b) => (b.conf.cert = { secrets: 'x' }))]), 'mtls.backends[1].conf.cert', 'has none of secret, inline, inlineString, file'],
    ['a data source that is a string', meshWith([builtin, variant(provided, (b) => (b.conf.cert = 'ca-2-cert'))]), 'mtls.backends[1].conf.cert', 'must be a data source'],
    ['inline that is not base64', meshWith([builtin, variant(provided, (b) => (b.conf.cert = { inline: '-----BEGIN CERTIFICATE-----' }))]), 'mtls.backends[1].conf.cert.inline', 'not valid base64: inline holds base64-encoded bytes (use inlineString for PEM text)'],
    ['an empty inlineString', meshWith([builtin, variant(provided, (b) => (b.conf.cert = { inlineString: '' }))]), 'mtls.backends[1].conf.cert.inlineString', 'must be a non-empty string'],
    ['a file that is a number', meshWith([builtin, variant(provided, (b) => (b.conf.cert = { file: 7 }))]), 'mtls.backends[1].conf.cert.file', 'must be a non-empty string'],
    ['an unknown secret', meshWith([builtin, variant(provided, (b) => (b.conf.cert.secret = 'ca-2-crt'))]), 'mtls.backends[1].conf.cert.secret', 'no Secret named "ca-2-crt" in mesh "default"'],
    ['vault without fromCp', meshWith([builtin, variant(vault, (b) => (b.conf = { address: 'https://v:8200' }))]), 'mtls.backends[1].conf.fromCp', 'needs conf.fromCp with address, pki, role and auth'],
    ['vault without an address', meshWith([builtin, variant(vault, (b) => delete b.conf.fromCp.address)]), 'mtls.backends[1].conf.fromCp.address', 'is required: the Vault server URL'],
    ['vault with an address that is no URL', meshWith([builtin, variant(vault, (b) => (b.conf.fromCp.address = 'vault:8200'))]), 'mtls.backends[1].conf.fromCp.address', 'is not a Vault URL'],
    ['vault without pki', meshWith([builtin, variant(vault, (b) => delete b.conf.fromCp.pki)]), 'mtls.backends[1].conf.fromCp.pki', 'is required'],
    ['vault with an empty role', meshWith([builtin, variant(vault, (b) => (b.conf.fromCp.role = ' '))]), 'mtls.backends[1].conf.fromCp.role', 'must be a non-empty string'],
    ['vault without auth', meshWith([builtin, variant(vault, (b) => delete b.conf.fromCp.auth)]), 'mtls.backends[1].conf.fromCp.auth', 'needs auth: one of token, tls, aws'],
    ['vault with two auth methods', meshWith([builtin, variant(vault, (b) => (b.conf.fromCp.auth.tls = { clientKey: { secret: 'k' }, clientCert: { secret: 'c' } }))]), 'mtls.backends[1].conf.fromCp.auth', 'has token and tls: use exactly one'],
    ['a vault token with no source', meshWith([builtin, variant(vault, (b) => (b.conf.fromCp.auth.token = {}))]), 'mtls.backends[1].conf.fromCp.auth.token', 'has none of'],
    ['an unknown vault token secret', meshWith([builtin, variant(vault, (b) => (b.conf.fromCp.auth.token.secret = 'nope'))]), 'mtls.backends[1].conf.fromCp.auth.token.secret', 'no Secret named "nope"'],
    ['a vault tls.caCert with two sources', meshWith([builtin, variant(vault, (b) => (b.conf.fromCp.tls.caCert.inlineString = 'PEM'))]), 'mtls.backends[1].conf.fromCp.tls.caCert', 'has both secret and inlineString'],
    ['vault client TLS without a key', meshWith([builtin, variant(vault, (b) => (b.conf.fromCp.auth = { tls: { clientCert: { secret: 'vault-ca' } } }))]), 'mtls.backends[1].conf.fromCp.auth.tls.clientKey', 'is required: the client private key'],
    ['vault client TLS with a bad cert', meshWith([builtin, variant(vault, (b) => (b.conf.fromCp.auth = { tls: { clientKey: { secret: 'vault-token' }, clientCert: { inline: '%' } } }))]), 'mtls.backends[1].conf.fromCp.auth.tls.clientCert.inline', 'not valid base64'],
    ['a mesh name with upper case', { ...meshWith([builtin]), name: 'Default' }, 'name', '"Default" is not a valid mesh name'],
    ['a backend that is not a mapping', meshWith([builtin, 'ca-2']), 'mtls.backends[1]', 'must be a mapping'],
    ['conf that is a list', meshWith([builtin, { name: 'ca-2', type: 'provided', conf: [] as unknown as Record<string, unknown> }]), 'mtls.backends[1].conf', 'must be a mapping'],
  ];

  it.each(cases)('rejects %s', (_case, mesh, expectedPath, expectedMessage) => {
    expect(errorsOf(mesh)).toContainEqual({ path: expectedPath, message: expect.stringContaining(expectedMessage) });
  });

  it('reports the one problem and nothing else for a single mistake', () => {
    const errors = errorsOf(meshWith([builtin, variant(provided, (b) => (b.conf.key.secret = 'missing'))]));
    expect(errors).toEqual([{ path: 'mtls.backends[1].conf.key.secret', message: expect.any(String) }]);
  });

  it('does not check secret references when no secret names are given', () => {
    expect(validateMesh(meshWith([builtin, variant(provided, (b) => (b.conf.cert.secret = 'elsewhere'))]), undefined).errors).toEqual([]);
  });

  it('accepts every kind of data source', () => {
    const sources = [{ secret: 'ca-2-cert' }, { inline: 'LS0tLQ==' }, { inlineString: '-----BEGIN CERTIFICATE-----' }, { file: '/etc/ca.pem' }];
    for (const cert of sources) {
      expect(errorsOf(meshWith([builtin, variant(provided, (b) => (b.conf.cert = cert))]))).toEqual([]);
    }
  });

  it('accepts durations in every Kuma form and both modes', () => {
    const backend = { ...builtin, mode: 'PERMISSIVE' as const, dpCert: { rotation: { expiration: '1d' }, requestTimeout: '500ms' }, rootChain: { requestTimeout: '0.5s' }, conf: { caCert: { RSAbits: 4096, expiration: '10y' } } };
    expect(errorsOf(meshWith([backend]))).toEqual([]);
  });

  it('warns when a private key or token is written inline into the Mesh', () => {
    const inlineKey = variant(provided, (b) => (b.conf.key = { inlineString: '-----BEGIN PRIVATE KEY-----' }));
    const inlineToken = variant(vault, (b) => (b.conf.fromCp.auth.token = { inline: 'cy50b2tlbg==' }));
    const result = validateMesh(meshWith([builtin, inlineKey, inlineToken]), KNOWN);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([
      { path: 'mtls.backends[1].conf.key.inlineString', message: expect.stringContaining('prefer secret: <name>') },
      { path: 'mtls.backends[2].conf.fromCp.auth.token.inline', message: expect.stringContaining('prefer secret: <name>') },
    ]);
  });
});

describe('validateDocuments', () => {
  it.each(['universal-with-secrets.yaml', 'kubernetes-with-secrets.yaml', 'vault.yaml'])('finds %s valid, using the Secrets in the file', (name) => {
    expect(validateDocuments(fixture(name))).toMatchObject({ valid: true, errors: [], warnings: [] });
  });

  it('reports a referenced Secret missing from the file at its Universal path, for Kubernetes input too', () => {
    const text = fixture('kubernetes-with-secrets.yaml').split('---\n').slice(0, 2).join('---\n');
    expect(validateDocuments(text)).toMatchObject({
      valid: false,
      format: 'kubernetes',
      errors: [{ path: 'mtls.backends[1].conf.key.secret', message: expect.stringContaining('no Secret named "ca-2-key" in mesh "default"') }],
    });
  });

  it('does not count a Secret of another mesh', () => {
    const text = fixture('universal-with-secrets.yaml').replace('name: ca-2-key\nmesh: default', 'name: ca-2-key\nmesh: other');
    const result = validateDocuments(text);
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([{ path: 'mtls.backends[1].conf.key.secret', message: expect.stringContaining('"ca-2-key"') }]);
    expect(result.warnings).toEqual([{ path: 'documents[2]', message: expect.stringContaining('belongs to mesh "other"') }]);
  });

  it('reports parse errors as invalid, with the document path', () => {
    expect(validateDocuments('type: Mesh\nname: default\n---\ntype: Secret\nname: s\nmesh: default\ndata: "@@"\n')).toEqual({
      valid: false,
      errors: [{ path: 'documents[1].data', message: expect.stringContaining('base64') }],
      warnings: [],
    });
  });

  it('returns the parsed mesh and secrets for the next checks', () => {
    const result = validateDocuments(fixture('vault.yaml'));
    expect(result.mesh?.name).toBe('payments');
    expect(result.secrets?.map((s) => s.name)).toEqual(['vault-ca', 'vault-token']);
  });
});
