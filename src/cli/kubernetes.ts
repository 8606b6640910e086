/** Kubernetes mode for the CLI's long-running commands and the demo: the control plane's mode, a local cluster. */
import type { ControlPlaneMode } from '../controlplane/server';
import { type KubernetesDevCluster, findKubernetesBinaries, provideKubeApiServer, startKubernetesDevCluster } from '../devstack/kubernetes';
import { CONTROL_PLANE_RBAC_MANIFEST, CRD_DIR, type Manifest, RBAC_MANIFEST, applyObjects, readManifests } from '../kubernetes/manifests';
import { CONTROL_PLANE_RBAC_FILE, type KubernetesSettings, KubernetesPermanentError, connectKubernetes } from '../kubernetes/connection';
import { KubernetesControlPlaneMode, type KubernetesModeOptions } from '../kubernetes/controlplane-mode';
import { CliError, EXIT_REFUSED } from './errors';

export function controlPlaneMode(
  settings: KubernetesSettings,
  options: Omit<KubernetesModeOptions, 'connection'>,
): { mode: ControlPlaneMode; describe(): string } {
  let connection;
  try {
    connection = connectKubernetes({ ...settings, rbacFile: CONTROL_PLANE_RBAC_FILE });
  } catch (err) {
    throw err instanceof KubernetesPermanentError ? new CliError(err.message, EXIT_REFUSED) : err;
  }
  const mode = new KubernetesControlPlaneMode({ ...options, connection });
  return {
    mode,
    describe: () =>
      `Kubernetes mode: Meshes and Secrets (${connection.namespace}) from ${connection.server}, proxies' insights in namespace ${options.dataplaneNamespace}` +
      (mode.webhookUrl ? `, admission webhook at ${mode.webhookUrl}` : ''),
  };
}

/** The user the worker runs as in the demo and the tests, bound to exactly deploy/kubernetes/rbac.yaml. */
export const WORKER_USER = 'mesh-ca-rotator-worker';
/** The user our control plane runs as in the demo and the tests, bound to exactly deploy/kubernetes/control-plane-rbac.yaml. */
export const CONTROL_PLANE_USER = 'mesh-ca-rotator-control-plane';

export function userBindings(user: string, clusterRole: string, role: string, namespace: string): Manifest[] {
  const subjects = [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user }];
  const roleRef = (kind: string, name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name });
  return [
    // Named apart from the manifests' own bindings (of their ServiceAccounts), which must stay as they are.
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `user-${user}` }, roleRef: roleRef('ClusterRole', clusterRole), subjects },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `user-${user}`, namespace }, roleRef: roleRef('Role', role), subjects },
  ];
}

/**
 * etcd + kube-apiserver on loopback (kube-apiserver built on first use), with Kuma's CRDs, the
 * repository's RBAC and a worker user bound to it, as a Kong Mesh install on Kubernetes would have.
 */
export async function startKubernetesForStack(options: {
  log: (line: string) => void;
  /** More token users (e.g. tests' deliberately limited ones). */
  users?: string[];
  /** More objects to apply once the CRDs and RBAC are in (given the RBAC manifest's objects). */
  extraObjects?: (rbac: Manifest[], namespace: string) => Manifest[];
}): Promise<{ cluster: KubernetesDevCluster; workerKubeconfig: string; controlPlaneKubeconfig: string; startMs: number }> {
  let binaries = findKubernetesBinaries();
  if (!binaries.kubeApiServer && binaries.etcd) {
    options.log('building kube-apiserver (first time only, about 10 minutes)');
    await provideKubeApiServer();
    binaries = findKubernetesBinaries();
  }
  if (!binaries.kubeApiServer || !binaries.etcd) throw new CliError(`cannot run Kubernetes mode here: ${binaries.missing}`, EXIT_REFUSED);
  const started = Date.now();
  const cluster = await startKubernetesDevCluster({
    kubeApiServer: binaries.kubeApiServer,
    etcd: binaries.etcd,
    users: [WORKER_USER, CONTROL_PLANE_USER, ...(options.users ?? [])].map((name) => ({ name })),
    startTimeoutMs: 180_000,
  });
  const startMs = Date.now() - started;
  options.log(`etcd + kube-apiserver ready in ${(startMs / 1000).toFixed(1)} s at ${cluster.server}`);
  try {
    const admin = connectKubernetes({ kubeconfig: cluster.adminKubeconfig });
    const rbac = readManifests(RBAC_MANIFEST);
    await applyObjects(admin, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: admin.namespace } }]);
    await applyObjects(admin, [
      ...readManifests(CRD_DIR),
      ...rbac,
      ...readManifests(CONTROL_PLANE_RBAC_MANIFEST),
      ...userBindings(WORKER_USER, 'mesh-ca-rotator', 'mesh-ca-rotator-secrets', admin.namespace),
      ...userBindings(CONTROL_PLANE_USER, 'mesh-ca-rotator-control-plane', 'mesh-ca-rotator-control-plane-secrets', admin.namespace),
      ...(options.extraObjects?.(rbac, admin.namespace) ?? []),
    ]);
    return { cluster, workerKubeconfig: cluster.kubeconfigFor(WORKER_USER), controlPlaneKubeconfig: cluster.kubeconfigFor(CONTROL_PLANE_USER), startMs };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
