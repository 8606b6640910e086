import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseDocuments, type ParsedDocuments } from '../../../src/mesh/documents';
import type { ValidationIssue } from '../../../src/mesh/schema';

const fixture = (name: string) => readFileSync(path.resolve(__dirname, '../../fixtures/mesh', name), 'utf8');

const CERT_B64 = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

const UNIVERSAL_MESH = `type: Mesh
name: default
mtls:
  enabledBackend: ca-1
  backends:
  - name: ca-1
    type: builtin
`;

const KUBERNETES_MESH = `apiVersion: kuma.io/v1alpha1
kind: Mesh
metadata:
  name: default
spec:
  mtls:
    enabledBackend: ca-1
    backends:
    - name: ca-1
      type: builtin
`;

function errorsOf(result: ParsedDocuments): ValidationIssue[] {
  if (result.ok) throw new Error(`expected errors, got a mesh: ${JSON.stringify(result.mesh)}`);
  return result.errors;
}

describe('parseDocuments', () => {
  it('reads a Universal Mesh with its Secrets into the canonical form', () => {
    const result = parseDocuments(fixture('universal-with-secrets.yaml'));
    expect(result).toMatchObject({ ok: true, format: 'universal', warnings: [] });
    if (!result.ok) return;
    expect(result.mesh.name).toBe('default');
    expect(result.mesh.mtls?.backends?.map((b) => b.name)).toEqual(['ca-1', 'ca-2']);
    // Fields the schema does not model survive.
    expect(result.mesh.logging).toEqual({ defaultBackend: 'file', backends: [{ name: 'file', type: 'file', conf: { path: '/tmp/access.log' } }] });
    expect(result.secrets.map((s) => [s.name, s.mesh])).toEqual([
      ['ca-2-cert', 'default'],
      ['ca-2-key', 'default'],
    ]);
  });

  it('reads a Kubernetes Mesh and Secrets into the same canonical Universal form', () => {
    const result = parseDocuments(fixture('kubernetes-with-secrets.yaml'));
    expect(result).toMatchObject({ ok: true, format: 'kubernetes', warnings: [] });
    if (!result.ok) return;
    expect(result.mesh).toEqual({
      type: 'Mesh',
      name: 'default',
      labels: { team: 'platform' },
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          { name: 'ca-1', type: 'builtin' },
          { name: 'ca-2', type: 'provided', conf: { cert: { secret: 'ca-2-cert' }, key: { secret: 'ca-2-key' } } },
        ],
      },
      networking: { outbound: { passthrough: false } },
    });
    // The second Secret has no kuma.io/mesh label: it belongs to the file's Mesh.
    expect(result.secrets).toEqual([
      { type: 'Secret', name: 'ca-2-cert', mesh: 'default', data: expect.any(String) },
      { type: 'Secret', name: 'ca-2-key', mesh: 'default', data: expect.any(String) },
    ]);
  });

  it('finds the Mesh after its Secrets and defaults their mesh to it', () => {
    const secret = `apiVersion: v1\nkind: Secret\ntype: system.kuma.io/secret\nmetadata:\n  name: s1\ndata:\n  value: ${CERT_B64}\n`;
    const result = parseDocuments(`${secret}---\n${KUBERNETES_MESH}`);
    expect(result).toMatchObject({ ok: true, secrets: [{ name: 's1', mesh: 'default' }] });
  });

  it('ignores empty documents and a leading or trailing ---', () => {
    expect(parseDocuments(`---\n${UNIVERSAL_MESH}---\n\n---\n# only a comment\n`)).toMatchObject({ ok: true, format: 'universal' });
  });

  it('warns about a Secret of another mesh and about mixing formats', () => {
    const otherMesh = `type: Secret\nname: s1\nmesh: other\ndata: ${CERT_B64}\n`;
    const kubernetesSecret = `apiVersion: v1\nkind: Secret\ntype: system.kuma.io/secret\nmetadata:\n  name: s2\ndata:\n  value: ${CERT_B64}\n`;
    const result = parseDocuments(`${UNIVERSAL_MESH}---\n${otherMesh}---\n${kubernetesSecret}`);
    expect(result).toMatchObject({
      ok: true,
      warnings: [
        { path: 'documents[1]', message: expect.stringContaining('belongs to mesh "other"') },
        { path: 'documents[2]', message: expect.stringContaining('kubernetes Secret next to a universal Mesh') },
      ],
    });
  });

  it('warns that Kubernetes metadata without a Universal equivalent is not carried over', () => {
    const annotated = KUBERNETES_MESH.replace('  name: default\n', '  name: default\n  annotations:\n    owner: me\n');
    expect(parseDocuments(annotated)).toMatchObject({ ok: true, warnings: [{ path: 'documents[0].metadata.annotations' }] });
  });

  it.each<[string, string, string, string]>([
    ['an empty file', '', 'documents', 'no Mesh found'],
    ['only Secrets', `type: Secret\nname: s\nmesh: default\ndata: ${CERT_B64}\n`, 'documents', 'no Mesh found'],
    ['bad YAML (with line and column)', 'type: Mesh\nname: [default\n', 'documents[0]', 'line 3, column 1'],
    ['a duplicate key', 'type: Mesh\nname: a\nname: b\n', 'documents[0]', 'Map keys must be unique at line 3'],
    ['bad YAML in the second document', `${UNIVERSAL_MESH}---\ntype: Secret\n  name: x\n`, 'documents[1]', 'invalid YAML'],
    ['a list instead of a mapping', '- type: Mesh\n', 'documents[0]', 'expected a mapping (a Kuma resource), found a list'],
    ['a bare string', 'hello', 'documents[0]', 'found a string'],
    ['a mapping that is no Kuma resource', 'foo: bar\n', 'documents[0]', 'not a Kuma resource'],
    ['an unknown Universal type', `${UNIVERSAL_MESH}---\ntype: Dataplane\nname: dp\nmesh: default\n`, 'documents[1].type', 'unexpected resource type "Dataplane"'],
    ['an unknown Kubernetes kind', `${KUBERNETES_MESH}---\napiVersion: apps/v1\nkind: Deployment\n`, 'documents[1].kind', 'unexpected resource kind "Deployment"'],
    ['two Meshes', `${UNIVERSAL_MESH}---\n${UNIVERSAL_MESH.replace('default', 'other')}`, 'documents[1]', 'a second Mesh ("other")'],
    ['a Mesh without a name', 'type: Mesh\nmtls: {}\n', 'name', 'is required'],
    ['a Mesh with an empty name', 'type: Mesh\nname: ""\n', 'name', 'Too small'],
    ['a Kubernetes Mesh without metadata.name', 'apiVersion: kuma.io/v1alpha1\nkind: Mesh\nmetadata: {}\n', 'name', 'is required'],
    ['a Kubernetes Mesh without metadata', 'apiVersion: kuma.io/v1alpha1\nkind: Mesh\n', 'documents[0].metadata', 'is required'],
    ['a Kubernetes Mesh with the wrong apiVersion', KUBERNETES_MESH.replace('kuma.io/v1alpha1', 'v1'), 'documents[0].apiVersion', 'apiVersion "kuma.io/v1alpha1"'],
    ['backends that are not a list (Universal)', 'type: Mesh\nname: d\nmtls:\n  backends: ca-1\n', 'mtls.backends', 'expected array'],
    ['backends that are not a list (Kubernetes paths in Universal form)', KUBERNETES_MESH.replace(/backends:[\s\S]*$/, 'backends: 3\n'), 'mtls.backends', 'expected array'],
    ['a backend name that is a number', UNIVERSAL_MESH.replace('name: ca-1', 'name: 1'), 'mtls.backends[0].name', 'expected string'],
    ['an unknown mode', UNIVERSAL_MESH.replace('type: builtin', 'type: builtin\n    mode: LAX'), 'mtls.backends[0].mode', 'STRICT'],
    ['a Secret with bad base64', `${UNIVERSAL_MESH}---\ntype: Secret\nname: s\nmesh: default\ndata: "not base64!"\n`, 'documents[1].data', 'is not valid base64'],
    ['a Secret with empty data', `${UNIVERSAL_MESH}---\ntype: Secret\nname: s\nmesh: default\ndata: ""\n`, 'documents[1].data', 'cannot be empty'],
    ['a Secret without a mesh', `${UNIVERSAL_MESH}---\ntype: Secret\nname: s\ndata: ${CERT_B64}\n`, 'documents[1].mesh', 'is required'],
    ['a Secret whose data is a mapping', `${UNIVERSAL_MESH}---\ntype: Secret\nname: s\nmesh: default\ndata:\n  value: x\n`, 'documents[1].data', 'expected string'],
    [
      'a Kubernetes Secret with bad base64',
      `${KUBERNETES_MESH}---\napiVersion: v1\nkind: Secret\ntype: system.kuma.io/secret\nmetadata:\n  name: s\ndata:\n  value: "%%%"\n`,
      'documents[1].data.value',
      'is not valid base64',
    ],
    [
      'a Kubernetes Secret of another type',
      `${KUBERNETES_MESH}---\napiVersion: v1\nkind: Secret\ntype: Opaque\nmetadata:\n  name: s\ndata:\n  value: ${CERT_B64}\n`,
      'documents[1].type',
      'system.kuma.io/secret',
    ],
    [
      'a Kubernetes Secret without data.value',
      `${KUBERNETES_MESH}---\napiVersion: v1\nkind: Secret\ntype: system.kuma.io/secret\nmetadata:\n  name: s\ndata:\n  cert: ${CERT_B64}\n`,
      'documents[1].data.value',
      'is required',
    ],
    [
      'a Secret defined twice',
      `${UNIVERSAL_MESH}---\ntype: Secret\nname: s\nmesh: default\ndata: ${CERT_B64}\n---\ntype: Secret\nname: s\nmesh: default\ndata: ${CERT_B64}\n`,
      'documents[2].name',
      'defined twice (also documents[1])',
    ],
  ])('rejects %s', (_case, text, expectedPath, expectedMessage) => {
    const errors = errorsOf(parseDocuments(text));
    expect(errors).toContainEqual({ path: expectedPath, message: expect.stringContaining(expectedMessage) });
  });

  it('reports every broken document, not just the first', () => {
    const errors = errorsOf(parseDocuments(`${UNIVERSAL_MESH}---\n[1]\n---\ntype: Secret\nname: s\nmesh: default\ndata: "!"\n`));
    expect(errors.map((e) => e.path)).toEqual(['documents[1]', 'documents[2].data']);
  });
});

/** Inputs a careless or hostile user could feed `ca-rotate validate`: none may throw. */
const MALFORMED: [string, string][] = [
  ['empty string', ''],
  ['whitespace', ' \n\t\n'],
  ['an empty list', '[]'],
  ['an empty mapping', '{}'],
  ['separators only', '---\n---'],
  ['a document end marker', '...\n'],
  ['null', 'null'],
  ['a number', '42'],
  ['a huge number', '1e400'],
  ['a huge integer', '123456789012345678901234567890'],
  ['binary junk', '\u0000\u0001\u0002\uFFFD\u00FF\u0007binary'],
  ['an unterminated string', 'type: "Mesh'],
  ['tabs as indentation', 'type: Mesh\nmtls:\n\tbackends: []\n'],
  ['a custom tag', 'type: !!binary Mesh\nname: x\n'],
  ['a directive only', '%YAML 1.2\n---\n'],
  ['alias bombs', 'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n'],
  ['an undefined alias', 'type: *nothing\n'],
  ['a huge number in a Mesh', 'type: Mesh\nname: x\nmtls:\n  backends:\n  - name: 1e400\n    type: 123456789012345678901234567890\n'],
  ['a type that is a number', 'type: 1\n'],
  ['a kind that is a list', 'kind: [Mesh]\n'],
  ['kind null', 'kind: null\n'],
  ['a name that is a mapping', 'type: Mesh\nname: {a: 1}\n'],
  ['mtls that is a string', 'type: Mesh\nname: x\nmtls: yes\n'],
  ['mtls that is a list', 'type: Mesh\nname: x\nmtls: [1]\n'],
  ['a backend that is a string', 'type: Mesh\nname: x\nmtls:\n  backends: [ca-1]\n'],
  ['a backend that is null', 'type: Mesh\nname: x\nmtls:\n  backends: [~]\n'],
  ['conf that is a list', 'type: Mesh\nname: x\nmtls:\n  backends:\n  - {name: a, type: provided, conf: [1]}\n'],
  ['dpCert that is a number', 'type: Mesh\nname: x\nmtls:\n  backends:\n  - {name: a, type: builtin, dpCert: 5}\n'],
  ['spec that is a string', 'apiVersion: kuma.io/v1alpha1\nkind: Mesh\nmetadata: {name: x}\nspec: nope\n'],
  ['metadata that is a list', 'apiVersion: kuma.io/v1alpha1\nkind: Mesh\nmetadata: [x]\n'],
  ['labels that are a list', 'apiVersion: v1\nkind: Secret\ntype: system.kuma.io/secret\nmetadata: {name: s, labels: [a]}\ndata: {value: Zm9v}\n'],
  ['Secret data null', 'type: Secret\nname: s\nmesh: m\ndata: null\n'],
  ['deep nesting', `${'['.repeat(2000)}${']'.repeat(2000)}`],
];

describe('parseDocuments on malformed input', () => {
  it.each(MALFORMED)('does not throw on %s', (_case, text) => {
    let result: ParsedDocuments | undefined;
    expect(() => {
      result = parseDocuments(text);
    }).not.toThrow();
    // None of them holds a usable Mesh: each must say why, with a path.
    expect(result).toMatchObject({ ok: false, errors: expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]) });
  });

  it('passes on the YAML library\'s warnings, e.g. an unknown tag', () => {
    expect(parseDocuments('type: !Foo Mesh\nname: x\n')).toMatchObject({ ok: true, warnings: [{ path: 'documents[0]', message: expect.stringContaining('!Foo') }] });
  });

  it('reads a very long line (the name is then validateMesh\'s business)', () => {
    expect(parseDocuments(`type: Mesh\nname: ${'x'.repeat(200_000)}\n`)).toMatchObject({ ok: true });
  });

  it('reports an alias bomb against its document instead of expanding it', () => {
    const bomb = MALFORMED.find(([name]) => name === 'alias bombs')?.[1] ?? '';
    expect(parseDocuments(bomb)).toMatchObject({ ok: false, errors: [{ path: 'documents[0]', message: expect.stringContaining('alias') }] });
  });

  it.each([null, undefined, 42, {}, []])('reports a non-string argument (%p) instead of throwing', (value) => {
    expect(parseDocuments(value as unknown as string)).toMatchObject({ ok: false, errors: [{ path: 'documents' }] });
  });
});
