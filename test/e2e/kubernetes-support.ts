/**
 * A real Kubernetes API server for the Kubernetes-mode tests: etcd + kube-apiserver on loopback with
 * Kuma's CRDs and the repository's RBAC installed, the worker user bound to exactly
 * deploy/kubernetes/rbac.yaml, and `rotator-without-update` bound to the same roles minus one verb.
 */
import type { Manifest } from '../../src/kubernetes/manifests';
import { startKubernetesForStack, userBindings } from '../../src/cli/kubernetes';
import { findKubernetesBinaries } from '../../src/devstack/kubernetes';

export const LIMITED_USER = 'rotator-without-update';

/** Why the Kubernetes tests cannot run here, or undefined. */
export function kubernetesMissing(): string | undefined {
  return findKubernetesBinaries().missing;
}

/** The repository's ClusterRole with one verb taken out of the rule for `resource`. */
function withoutVerb(rbac: Manifest[], resource: string, verb: string): Manifest {
  const clusterRole = rbac.find((o) => o.kind === 'ClusterRole') as Manifest & { rules: { resources: string[]; verbs: string[] }[] };
  return {
    ...clusterRole,
    metadata: { name: `mesh-ca-rotator-without-${verb}` },
    rules: clusterRole.rules.map((rule) => (rule.resources.includes(resource) ? { ...rule, verbs: rule.verbs.filter((v) => v !== verb) } : rule)),
  };
}

export function startTestCluster() {
  return startKubernetesForStack({
    log: (line) => console.log(line),
    users: [LIMITED_USER],
    extraObjects: (rbac, namespace) => [withoutVerb(rbac, 'meshes', 'update'), ...userBindings(LIMITED_USER, 'mesh-ca-rotator-without-update', 'mesh-ca-rotator-secrets', namespace)],
  });
}
