/**
 * The Kubernetes permissions each party uses: the worker (deploy/kubernetes/rbac.yaml grants exactly
 * these) and our control plane in Kubernetes mode (deploy/kubernetes/control-plane-rbac.yaml), and a
 * check at start that names what is missing instead of failing half-way through.
 */
import { FORBIDDEN_CONFIRM_DELAYS_MS, type KubernetesConnection, KubernetesPermanentError, kubeCall } from './connection';
import { WEBHOOK_CONFIGURATION_NAME } from './admission-webhook';

export interface Permission {
  verb: string;
  group: string;
  resource: string;
  /** Set for namespaced grants (the control plane's namespace); cluster-wide otherwise. */
  namespaced: boolean;
  /** Granted for this one object only. */
  resourceName?: string;
  why: string;
}

export const WORKER_PERMISSIONS: readonly Permission[] = [
  { verb: 'get', group: 'kuma.io', resource: 'meshes', namespaced: false, why: 'read the Mesh' },
  { verb: 'update', group: 'kuma.io', resource: 'meshes', namespaced: false, why: "write the rotation's three Mesh versions" },
  { verb: 'list', group: 'kuma.io', resource: 'dataplaneinsights', namespaced: false, why: "read every proxy's mTLS state" },
  { verb: 'watch', group: 'kuma.io', resource: 'dataplaneinsights', namespaced: false, why: "follow every proxy's mTLS state" },
  { verb: 'get', group: '', resource: 'secrets', namespaced: true, why: "check the new backend's CA material" },
];

/** What `ca-rotate start` needs beyond the worker's permissions: uploading the target's Secrets. */
export const START_PERMISSIONS: readonly Permission[] = [
  { verb: 'create', group: '', resource: 'secrets', namespaced: true, why: "upload the target's Secrets" },
  { verb: 'update', group: '', resource: 'secrets', namespaced: true, why: "replace the target's Secrets" },
];

/** What our control plane uses in Kubernetes mode; `webhook`: the admission webhook's registration. */
export const CONTROL_PLANE_PERMISSIONS: readonly (Permission & { webhook?: true })[] = [
  { verb: 'list', group: 'kuma.io', resource: 'meshes', namespaced: false, why: 'list the Meshes it serves' },
  { verb: 'watch', group: 'kuma.io', resource: 'meshes', namespaced: false, why: 'follow the Meshes it serves' },
  ...['dataplanes', 'dataplaneinsights'].flatMap((resource) =>
    ['get', 'create', 'update', 'delete'].map((verb) => ({ verb, group: 'kuma.io', resource, namespaced: false, why: `keep one ${resource.slice(0, -1)} per proxy` })),
  ),
  { verb: 'list', group: 'kuma.io', resource: 'dataplaneinsights', namespaced: false, why: 'mark disconnected the insights a previous run left connected' },
  { verb: 'create', group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', namespaced: false, webhook: true, why: 'register its admission webhook' },
  ...['get', 'update'].map((verb) => ({
    verb,
    group: 'admissionregistration.k8s.io',
    resource: 'validatingwebhookconfigurations',
    namespaced: false,
    resourceName: WEBHOOK_CONFIGURATION_NAME,
    webhook: true as const,
    why: 're-register its admission webhook with its current certificate',
  })),
  { verb: 'list', group: '', resource: 'secrets', namespaced: true, why: 'list the CA material the Meshes reference' },
  { verb: 'watch', group: '', resource: 'secrets', namespaced: true, why: 'follow the CA material the Meshes reference' },
  { verb: 'get', group: '', resource: 'secrets', namespaced: true, why: 'read a builtin CA another run created' },
  { verb: 'create', group: '', resource: 'secrets', namespaced: true, why: 'keep each builtin CA it generates' },
];

export function permissionText(permission: Permission, namespace: string): string {
  const resource = permission.group ? `${permission.resource}.${permission.group}` : permission.resource;
  const which = permission.resourceName ? ` "${permission.resourceName}"` : '';
  return `"${permission.verb}" on ${resource}${which}${permission.namespaced ? ` in namespace ${namespace}` : ' (cluster-wide)'}`;
}

/**
 * Asks the API server (SelfSubjectAccessReview) whether we hold each permission; throws naming what is
 * missing. A binding made moments ago may not be in force yet: what is missing is asked again for a
 * few seconds, as a 403 is (kubeCall), before it counts.
 */
export async function checkPermissions(connection: KubernetesConnection, permissions: readonly Permission[]): Promise<void> {
  let missing = await missingPermissions(connection, permissions);
  for (const delay of FORBIDDEN_CONFIRM_DELAYS_MS) {
    if (missing.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
    missing = await missingPermissions(connection, missing);
  }
  if (missing.length === 0) return;
  const lines = missing.map((permission) => `${permissionText(permission, connection.namespace)} (to ${permission.why})`);
  throw new KubernetesPermanentError(`forbidden: context "${connection.context}" lacks RBAC verb ${lines.join(', ')}; grant them as in ${connection.rbacFile}`);
}

async function missingPermissions(connection: KubernetesConnection, permissions: readonly Permission[]): Promise<Permission[]> {
  const missing: Permission[] = [];
  for (const permission of permissions) {
    const review = await kubeCall(connection, { verb: 'create', resource: 'selfsubjectaccessreviews.authorization.k8s.io' }, () =>
      connection.authorization.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              verb: permission.verb,
              group: permission.group,
              resource: permission.resource,
              ...(permission.resourceName ? { name: permission.resourceName } : {}),
              ...(permission.namespaced ? { namespace: connection.namespace } : {}),
            },
          },
        },
      }),
    );
    if (!review.status?.allowed) missing.push(permission);
  }
  return missing;
}
