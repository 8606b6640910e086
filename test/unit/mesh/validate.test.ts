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
  it('accepts builtin, provided and vault backends together (Kong Mesh allows several)', () => {
    expect(validateMesh(meshWith([builtin, provided, vault]), KNOWN)).toEqual({ errors: [], warnings: [] });
  });

  it('accepts a Mesh without mTLS', () => {
    expect(validateMesh({ type: 'Mesh', name: 'default' }, KNOWN)).toEqual({ errors: [], warnings: [] });
  });

  it('reports the one problem and nothing else for a single mistake', () => {
    const errors = errorsOf(meshWith([builtin, variant(provided, (b) => (b.conf.key.secret = 'missing'))]));
    expect(errors).toEqual([{ path: 'mtls.backends[1].conf.key.secret', message: expect.stringContaining('no Secret named "missing"') }]);
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
