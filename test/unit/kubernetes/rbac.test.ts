/** deploy/kubernetes/rbac.yaml grants exactly the verbs the code uses, no more, no fewer. */
import { RBAC_MANIFEST, readManifests } from '../../../src/kubernetes/manifests';
import { START_PERMISSIONS, WORKER_PERMISSIONS } from '../../../src/kubernetes/permissions';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

function grants(kind: string): string[] {
  const role = readManifests(RBAC_MANIFEST).find((object) => object.kind === kind) as { rules: Rule[] } | undefined;
  return (role?.rules ?? []).flatMap((rule) => rule.apiGroups.flatMap((group) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${verb} ${resource}.${group}`)))).sort();
}

test('the ClusterRole and the namespaced Role grant exactly the permissions the worker and `start` use', () => {
  const used = [...WORKER_PERMISSIONS, ...START_PERMISSIONS];
  const key = (p: { verb: string; resource: string; group: string }) => `${p.verb} ${p.resource}.${p.group}`;
  expect(grants('ClusterRole')).toEqual(used.filter((p) => !p.namespaced).map(key).sort());
  expect(grants('Role')).toEqual(used.filter((p) => p.namespaced).map(key).sort());
});
