/**
 * The Kubernetes permissions the worker uses (deploy/kubernetes/rbac.yaml grants exactly these), and
 * a check at start that names the first one missing instead of failing half-way through a rotation.
 */
import { type KubernetesConnection, KubernetesPermanentError, RBAC_FILE, kubeCall } from './connection';

export interface Permission {
  verb: string;
  group: string;
  resource: string;
  /** Set for namespaced grants (the control plane's namespace); cluster-wide otherwise. */
  namespaced: boolean;
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

export function permissionText(permission: Permission, namespace: string): string {
  const resource = permission.group ? `${permission.resource}.${permission.group}` : permission.resource;
  return `"${permission.verb}" on ${resource}${permission.namespaced ? ` in namespace ${namespace}` : ' (cluster-wide)'}`;
}

/** Asks the API server (SelfSubjectAccessReview) whether we hold each permission; throws naming what is missing. */
export async function checkPermissions(connection: KubernetesConnection, permissions: readonly Permission[]): Promise<void> {
  const missing: string[] = [];
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
              ...(permission.namespaced ? { namespace: connection.namespace } : {}),
            },
          },
        },
      }),
    );
    if (!review.status?.allowed) missing.push(`${permissionText(permission, connection.namespace)} (to ${permission.why})`);
  }
  if (missing.length > 0) {
    throw new KubernetesPermanentError(`forbidden: context "${connection.context}" lacks RBAC verb ${missing.join(', ')}; grant them as in ${RBAC_FILE}`);
  }
}
