/**
 * `kubectl apply` for the few manifests the demo and the tests install (Kuma's CRDs, the RBAC, a
 * webhook registration): create each object, or replace it when it exists. Waits for CRDs to be served.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type KubernetesObject, KubernetesObjectApi, loadYaml } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { type KubernetesConnection, KubernetesConflictError, kubeCall, kubernetesError } from './connection';

/** Any Kubernetes object as YAML gives it: the header fields plus whatever its kind has. */
export type Manifest = KubernetesObject & Record<string, unknown>;

export const DEPLOY_DIR = path.resolve(__dirname, '../../deploy/kubernetes');
export const CRD_DIR = path.join(DEPLOY_DIR, 'crds');
export const RBAC_MANIFEST = path.join(DEPLOY_DIR, 'rbac.yaml');
export const CONTROL_PLANE_RBAC_MANIFEST = path.join(DEPLOY_DIR, 'control-plane-rbac.yaml');

export function readManifests(file: string): Manifest[] {
  const files = fs.statSync(file).isDirectory()
    ? fs.readdirSync(file).filter((name) => name.endsWith('.yaml')).sort().map((name) => path.join(file, name))
    : [file];
  return files.flatMap((one) =>
    parseAllDocuments(fs.readFileSync(one, 'utf8'))
      .map((doc) => doc.toJS() as Manifest | null)
      .filter((object): object is Manifest => object !== null && typeof object === 'object' && typeof object.kind === 'string'),
  );
}

export async function applyObjects(connection: KubernetesConnection, objects: readonly Manifest[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(connection.config);
  // The client serializes through its typed models, which only know their own field names: a plain
  // object's `x-kubernetes-preserve-unknown-fields` would be dropped. Its YAML loader builds the models.
  for (const object of objects.map((plain) => loadYaml<Manifest>(JSON.stringify(plain)))) {
    const action = { verb: 'create', resource: object.kind ?? 'object', name: object.metadata?.name, namespace: object.metadata?.namespace };
    try {
      await api.create(object);
      continue;
    } catch (err) {
      const failure = kubernetesError(err, action, connection);
      if (!(failure instanceof KubernetesConflictError)) throw failure;
    }
    const existing = await kubeCall(connection, { ...action, verb: 'get' }, () => api.read(object as KubernetesObject & { metadata: { name: string } }));
    await kubeCall(connection, { ...action, verb: 'update' }, () =>
      api.replace({ ...object, metadata: { ...object.metadata, resourceVersion: existing.metadata?.resourceVersion } }),
    );
  }
  for (const crd of objects.filter((object) => object.kind === 'CustomResourceDefinition')) {
    await waitForCrd(connection, api, crd.metadata?.name ?? '');
  }
}

async function waitForCrd(connection: KubernetesConnection, api: KubernetesObjectApi, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const crd = (await kubeCall(connection, { verb: 'get', resource: 'customresourcedefinitions', name }, () =>
      api.read({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } }),
    )) as KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } };
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new Error(`CustomResourceDefinition ${name} was not established within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
