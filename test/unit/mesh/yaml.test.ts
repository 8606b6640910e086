import { parseDocuments } from '../../../src/mesh/documents';
import type { Mesh } from '../../../src/mesh/schema';
import { formatDocumentsYaml, formatMeshYaml, fromKubernetesMesh, toKubernetesMesh } from '../../../src/mesh/yaml';

/** As the control plane's REST API returns it: timestamps, fields we do not model, keys in any order. */
const fromApi: Mesh = {
  modificationTime: '2024-05-01T10:00:00Z',
  mtls: {
    backends: [{ conf: { caCert: { RSAbits: 2048 } }, type: 'builtin', name: 'ca-1', dpCert: { rotation: { expiration: '1d' } } }],
    enabledBackend: 'ca-1',
  },
  metrics: { enabledBackend: 'prom', backends: [{ name: 'prom', type: 'prometheus' }] },
  name: 'default',
  creationTime: '2024-01-01T00:00:00Z',
  type: 'Mesh',
  labels: { team: 'platform' },
};

describe('Mesh codecs', () => {
  it('converts Universal to Kubernetes and back without losing a field', () => {
    const kubernetes = toKubernetesMesh(fromApi);
    expect(kubernetes).toEqual({
      apiVersion: 'kuma.io/v1alpha1',
      kind: 'Mesh',
      metadata: { name: 'default', labels: { team: 'platform' } },
      spec: { mtls: fromApi.mtls, metrics: fromApi.metrics },
    });
    const { creationTime: _c, modificationTime: _m, ...userFields } = fromApi;
    expect(fromKubernetesMesh(kubernetes)).toEqual(userFields);
  });

  it('prints Universal with type, name, mtls first, backends as name, type, … and no control-plane timestamps', () => {
    expect(formatMeshYaml(fromApi, 'universal')).toBe(`type: Mesh
name: default
labels:
  team: platform
mtls:
  enabledBackend: ca-1
  backends:
  - name: ca-1
    type: builtin
    conf:
      caCert:
        RSAbits: 2048
    dpCert:
      rotation:
        expiration: 1d
metrics:
  enabledBackend: prom
  backends:
  - name: prom
    type: prometheus
`);
  });

  it('prints Kubernetes as apiVersion, kind, metadata, spec', () => {
    expect(formatMeshYaml(fromApi, 'kubernetes')).toBe(`apiVersion: kuma.io/v1alpha1
kind: Mesh
metadata:
  name: default
  labels:
    team: platform
spec:
  mtls:
    enabledBackend: ca-1
    backends:
    - name: ca-1
      type: builtin
      conf:
        caCert:
          RSAbits: 2048
      dpCert:
        rotation:
          expiration: 1d
  metrics:
    enabledBackend: prom
    backends:
    - name: prom
      type: prometheus
`);
  });

  it('prints a mesh without mTLS as an empty spec', () => {
    expect(formatMeshYaml({ type: 'Mesh', name: 'plain' }, 'kubernetes')).toBe('apiVersion: kuma.io/v1alpha1\nkind: Mesh\nmetadata:\n  name: plain\nspec: {}\n');
  });

  it('keeps strings that look like numbers or booleans strings, and PEM text readable', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const mesh: Mesh = {
      type: 'Mesh',
      name: '123',
      mtls: { enabledBackend: 'yes', backends: [{ name: 'yes', type: 'provided', conf: { cert: { inlineString: pem }, key: { secret: 'true' } } }] },
    };
    for (const format of ['universal', 'kubernetes'] as const) {
      const text = formatMeshYaml(mesh, format);
      expect(parseDocuments(text)).toMatchObject({ ok: true, mesh });
      expect(text).toContain('inlineString: |\n');
    }
  });

  it('joins several meshes into one stream that reads back in order', () => {
    const steps: Mesh[] = ['ca-1', 'ca-2'].map((enabledBackend) => ({ ...fromApi, mtls: { ...fromApi.mtls, enabledBackend } }));
    const text = formatDocumentsYaml(steps, 'kubernetes');
    const documents = text.split('---\n');
    expect(documents).toHaveLength(2);
    expect(documents.map((doc) => parseDocuments(doc)).map((r) => r.ok && r.mesh.mtls?.enabledBackend)).toEqual(['ca-1', 'ca-2']);
  });

  it('does not write YAML anchors when the same object appears twice', () => {
    const shared = { secret: 'ca' };
    const mesh: Mesh = { type: 'Mesh', name: 'm', mtls: { backends: [{ name: 'p', type: 'provided', conf: { cert: shared, key: shared } }] } };
    expect(formatMeshYaml(mesh, 'universal')).not.toMatch(/[&*]/);
  });
});
