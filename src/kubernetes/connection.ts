/**
 * Connecting to a Kubernetes API server: a kubeconfig file (flag, KUBECONFIG or ~/.kube/config) with
 * an optional context, or the in-cluster service account. Every failure becomes one line that says
 * what to do, and says whether retrying can help.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiException, AuthorizationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { ControlPlaneError } from '../controlplane/client';
import { KUMA_GROUP, KUMA_VERSION } from './resources';
import { errorMessage } from '../mesh/errors';

export const DEFAULT_CONTROL_PLANE_NAMESPACE = 'kuma-system';
/** The RBAC each party is granted in the repository: the worker (and `ca-rotate start`), and our control plane. */
export const RBAC_FILE = 'deploy/kubernetes/rbac.yaml';
export const CONTROL_PLANE_RBAC_FILE = 'deploy/kubernetes/control-plane-rbac.yaml';

export interface KubernetesSettings {
  /** A kubeconfig file; default KUBECONFIG, then ~/.kube/config, then the in-cluster service account. */
  kubeconfig?: string;
  context?: string;
  /** Where the control plane keeps its Secrets (Kuma's `kuma-system`). */
  namespace?: string;
  /** Named in a "forbidden" error as what to grant; default the worker's RBAC_FILE. */
  rbacFile?: string;
}

/** A failure retrying cannot fix (configuration, credentials, permissions, a missing CRD). */
export class KubernetesPermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubernetesPermanentError';
  }
}

/**
 * The API server's answer to an optimistic-concurrency write over a stale resourceVersion; a 409 like
 * Kuma's API answers a stale If-Match, so the rotation's activities treat both alike.
 */
export class KubernetesConflictError extends ControlPlaneError {
  constructor(message: string) {
    super(409, 'Conflict', message, [], []);
    this.name = 'KubernetesConflictError';
  }
}

/** The object itself is not there (its resource type is served). */
export class KubernetesNotFoundError extends KubernetesPermanentError {
  constructor(message: string) {
    super(message);
    this.name = 'KubernetesNotFoundError';
  }
}

/** No answer, or one worth trying again (5xx, 429, an admission webhook refusing for now). */
export class KubernetesTransientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubernetesTransientError';
  }
}

export interface KubernetesConnection {
  config: KubeConfig;
  server: string;
  context: string;
  namespace: string;
  /** What to grant when the API server says forbidden. */
  rbacFile: string;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  authorization: AuthorizationV1Api;
}

function defaultKubeconfig(): string | undefined {
  const fromEnv = process.env.KUBECONFIG?.split(path.delimiter).find((file) => file.length > 0);
  if (fromEnv) return fromEnv;
  const home = path.join(os.homedir(), '.kube', 'config');
  return existsSync(home) ? home : undefined;
}

export function connectKubernetes(settings: KubernetesSettings = {}): KubernetesConnection {
  const config = new KubeConfig();
  const file = settings.kubeconfig ?? defaultKubeconfig();
  if (file) {
    if (!existsSync(file)) throw new KubernetesPermanentError(`kubeconfig ${file} does not exist`);
    try {
      config.loadFromFile(file);
    } catch (err) {
      throw new KubernetesPermanentError(`kubeconfig ${file} cannot be read: ${errorMessage(err)}`);
    }
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    config.loadFromCluster();
  } else {
    throw new KubernetesPermanentError('no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run in a pod (in-cluster config)');
  }
  if (settings.context) {
    if (!config.getContextObject(settings.context)) {
      const known = config.getContexts().map((c) => c.name).join(', ') || 'none';
      throw new KubernetesPermanentError(`context "${settings.context}" is not in kubeconfig ${file ?? '(in-cluster)'} (contexts: ${known})`);
    }
    config.setCurrentContext(settings.context);
  }
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new KubernetesPermanentError(`kubeconfig ${file ?? '(in-cluster)'} has no current context with a cluster: pass --context NAME`);
  return {
    config,
    server: cluster.server,
    context: config.getCurrentContext(),
    namespace: settings.namespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE,
    rbacFile: settings.rbacFile ?? RBAC_FILE,
    core: config.makeApiClient(CoreV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    authorization: config.makeApiClient(AuthorizationV1Api),
  };
}

const StatusSchema = z.looseObject({
  kind: z.literal('Status'),
  message: z.string().optional(),
  reason: z.string().optional(),
  details: z.looseObject({ name: z.string().optional(), kind: z.string().optional() }).optional(),
  code: z.number().optional(),
});
type Status = z.infer<typeof StatusSchema>;

function statusOf(body: unknown): Status | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }
  const parsed = StatusSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** What a request was doing, for the error line: `update` on `meshes.kuma.io` named `default`. */
export interface KubernetesAction {
  verb: string;
  resource: string;
  name?: string;
  namespace?: string;
}

/** The object is not there (a Status with details), as opposed to the whole resource type missing. */
export function isObjectNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404 && statusOf(err.body)?.details !== undefined;
}

function actionText(action: KubernetesAction): string {
  const where = action.namespace ? ` in namespace ${action.namespace}` : '';
  return `${action.verb} ${action.resource}${action.name ? ` "${action.name}"` : ''}${where}`;
}

/** The error code of a failed connection, wherever the HTTP client put it (the error or its cause). */
function transportCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = (e as Error & { cause?: unknown }).cause, depth++) {
    const code = (e as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** One line for any failure of a request to the API server, typed by whether a retry can help. */
export function kubernetesError(err: unknown, action: KubernetesAction, connection: Pick<KubernetesConnection, 'server' | 'context' | 'rbacFile'>): Error {
  if (err instanceof KubernetesPermanentError || err instanceof KubernetesConflictError || err instanceof KubernetesTransientError) return err;
  if (!(err instanceof ApiException)) {
    const code = transportCode(err);
    // A certificate the kubeconfig does not trust will not become trusted by retrying.
    if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE|CERT_HAS_EXPIRED|ERR_TLS_CERT_ALTNAME_INVALID/.test(code ?? '')) {
      return new KubernetesPermanentError(
        `the Kubernetes API at ${connection.server} presented a certificate that context "${connection.context}" does not accept (${code}): check the cluster's certificate-authority in the kubeconfig`,
      );
    }
    const cause = code ?? (err instanceof Error ? err.message : String(err));
    return new KubernetesTransientError(`Kubernetes API at ${connection.server} is unreachable (${actionText(action)}): ${cause}`);
  }
  const status = statusOf(err.body);
  const message = status?.message ?? (typeof err.body === 'string' ? err.body.slice(0, 200) : err.message);
  switch (err.code) {
    case 401:
      return new KubernetesPermanentError(
        `Kubernetes API at ${connection.server} rejected the credentials of context "${connection.context}" (401 Unauthorized): renew the token or certificate in the kubeconfig`,
      );
    case 403:
      return new KubernetesPermanentError(
        `forbidden: missing RBAC verb "${action.verb}" on ${action.resource}${action.namespace ? ` in namespace ${action.namespace}` : ''} (${message}); grant it as in ${connection.rbacFile}`,
      );
    case 404:
      if (!status?.details) {
        return new KubernetesPermanentError(`${action.resource} is not served by the API server: install its CustomResourceDefinition (kubectl apply -f deploy/kubernetes/crds/)`);
      }
      return new KubernetesNotFoundError(`${actionText(action)}: not found`);
    case 409:
      return new KubernetesConflictError(`${actionText(action)}: conflict (${message})`);
    case 429:
      return new KubernetesTransientError(`${actionText(action)}: the API server is throttling (429), will retry`);
    default:
      if (err.code >= 500) return new KubernetesTransientError(`${actionText(action)}: API server error ${err.code} (${message})`);
      // Our admission webhook answers 422 while the step gate is not yet satisfied: try again later.
      if (err.code === 422 && /admission webhook/.test(message)) return new KubernetesTransientError(`${actionText(action)}: ${message}`);
      return new KubernetesPermanentError(`${actionText(action)}: refused with ${err.code} (${message})`);
  }
}

/**
 * An API server that has just started (or just been given a new binding) answers 403 until its RBAC
 * caches have synced: a 403 counts only once it has lasted this long (then it fails at once, naming the verb).
 */
export const FORBIDDEN_CONFIRM_DELAYS_MS = [1_000, 2_000, 4_000];

/** Runs one request, turning any failure into the one-line error above. */
export async function kubeCall<T>(connection: KubernetesConnection, action: KubernetesAction, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const delay = FORBIDDEN_CONFIRM_DELAYS_MS[attempt];
      if (err instanceof ApiException && err.code === 403 && delay !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      throw kubernetesError(err, action, connection);
    }
  }
}

const LIST_PAGE_SIZE = 500;

/**
 * Every object of a Kuma resource type in all namespaces (all pages), with the listing's
 * resourceVersion and the API server's clock at the first page (its Date header, 1 s resolution).
 */
export async function listKumaObjects(connection: KubernetesConnection, plural: string): Promise<{ items: unknown[]; resourceVersion: string; serverTimeMs?: number }> {
  const items: unknown[] = [];
  let resourceVersion = '';
  let serverTimeMs: number | undefined;
  let next: string | undefined;
  do {
    const response = await kubeCall(connection, { verb: 'list', resource: `${plural}.${KUMA_GROUP}` }, () =>
      connection.custom.listCustomObjectForAllNamespacesWithHttpInfo({ group: KUMA_GROUP, version: KUMA_VERSION, plural, limit: LIST_PAGE_SIZE, _continue: next }),
    );
    const page = response.data as { items?: unknown[]; metadata?: { resourceVersion?: string; continue?: string } };
    const date = Date.parse(response.headers.date ?? '');
    serverTimeMs ??= Number.isFinite(date) ? date : undefined;
    items.push(...(page.items ?? []));
    resourceVersion ||= page.metadata?.resourceVersion ?? '';
    next = page.metadata?.continue || undefined;
  } while (next);
  return { items, resourceVersion, serverTimeMs };
}

/** kubeCall for a read where a missing object is an answer (undefined), not a failure. */
export async function kubeGet<T>(connection: KubernetesConnection, action: KubernetesAction, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await kubeCall(connection, action, call);
  } catch (err) {
    if (err instanceof KubernetesNotFoundError) return undefined;
    throw err;
  }
}
