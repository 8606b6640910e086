/** Each RBAC file in deploy/kubernetes grants exactly the verbs its party's code uses, no more, no fewer. */
import { CONTROL_PLANE_RBAC_MANIFEST, RBAC_MANIFEST, readManifests } from '../../../src/kubernetes/manifests';
import { CONTROL_PLANE_PERMISSIONS, type Permission, START_PERMISSIONS, WORKER_PERMISSIONS } from '../../../src/kubernetes/permissions';

interface Rule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

function grants(file: string, kind: string): string[] {
  const role = readManifests(file).find((object) => object.kind === kind) as { rules: Rule[] } | undefined;
  return (role?.rules ?? [])
    .flatMap((rule) =>
      rule.apiGroups.flatMap((group) =>
        rule.resources.flatMap((resource) => (rule.resourceNames ?? ['']).flatMap((name) => rule.verbs.map((verb) => `${verb} ${resource}.${group}${name ? `/${name}` : ''}`))),
      ),
    )
    .sort();
}

const key = (p: Permission) => `${p.verb} ${p.resource}.${p.group}${p.resourceName ? `/${p.resourceName}` : ''}`;

test('the worker: the ClusterRole and the namespaced Role grant exactly the permissions the worker and `start` use', () => {
  const used = [...WORKER_PERMISSIONS, ...START_PERMISSIONS];
  expect(grants(RBAC_MANIFEST, 'ClusterRole')).toEqual(used.filter((p) => !p.namespaced).map(key).sort());
  expect(grants(RBAC_MANIFEST, 'Role')).toEqual(used.filter((p) => p.namespaced).map(key).sort());
});

test('our control plane: its ClusterRole and Role grant exactly what Kubernetes mode uses, its webhook configuration by name only', () => {
  expect(grants(CONTROL_PLANE_RBAC_MANIFEST, 'ClusterRole')).toEqual(CONTROL_PLANE_PERMISSIONS.filter((p) => !p.namespaced).map(key).sort());
  expect(grants(CONTROL_PLANE_RBAC_MANIFEST, 'Role')).toEqual(CONTROL_PLANE_PERMISSIONS.filter((p) => p.namespaced).map(key).sort());
  expect(grants(CONTROL_PLANE_RBAC_MANIFEST, 'ClusterRole')).toContain('update validatingwebhookconfigurations.admissionregistration.k8s.io/mesh-ca-rotator');
});
