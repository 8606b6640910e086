/**
 * Kong Mesh's "not too soon" validators as a Kubernetes validating admission webhook: the API server
 * sends every create/update of a Mesh here (HTTPS, trusted through the caBundle we register), and the
 * same gate as the REST API's PUT decides against the proxies' live state, so `kubectl apply` of a
 * too-early edit is refused with the reason and the proxies still pending.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { ControlPlaneStore } from '../controlplane/store';
import { proxyStateOf } from '../controlplane/ack-relay';
import { admitMeshChange } from '../mesh/gates';
import { validateMesh } from '../mesh/validate';
import { generateServingCertificate } from '../pki/ca-certificate';
import type { KubernetesConnection } from './connection';
import { applyObjects } from './manifests';
import { EXCLUDE_OFFLINE_ANNOTATION, LAST_CHANGE_ANNOTATION, MeshObjectSchema, meshFromObject } from './resources';
import type { ProxyState } from '../mesh/insights';

export const WEBHOOK_CONFIGURATION_NAME = 'mesh-ca-rotator';
const WEBHOOK_PATH = '/validate/meshes';
const MAX_BODY_BYTES = 3 * 1024 * 1024;

const AdmissionReviewSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('AdmissionReview'),
  request: z.looseObject({
    uid: z.string(),
    operation: z.string(),
    object: z.unknown().optional(),
    oldObject: z.unknown().optional(),
  }),
});

export interface MeshWebhook {
  url: string;
  caPem: string;
  stop(): Promise<void>;
}

type Verdict = { allowed: true } | { allowed: false; message: string };

/** The decision for one review: static validation, then the step gate against live insights. */
export function reviewMeshChange(store: ControlPlaneStore, object: unknown, oldObject: unknown): Verdict {
  const proposed = MeshObjectSchema.safeParse(object);
  if (!proposed.success) {
    const issue = proposed.error.issues[0];
    return { allowed: false, message: `invalid Mesh: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unreadable'}` };
  }
  const mesh = meshFromObject(proposed.data);
  const knownSecrets = new Set(store.secrets.list(mesh.name).map((s) => s.name));
  const checked = validateMesh(mesh, knownSecrets);
  if (checked.errors.length > 0) {
    return { allowed: false, message: `mesh "${mesh.name}" is invalid: ${checked.errors.map((e) => `spec.${e.path}: ${e.message}`).join('; ')}` };
  }
  const previous = MeshObjectSchema.safeParse(oldObject);
  const proxies = store.dataplanes.ofMesh(mesh.name).map(proxyStateOf);
  const admission = admitMeshChange(previous.success ? meshFromObject(previous.data) : undefined, mesh, proxies, {
    nowMs: Date.now(),
    excluded: rotationExclusions(proposed.data.metadata.annotations, previous.success ? previous.data.metadata.annotations : undefined, proxies),
  });
  if (admission.allowed) return { allowed: true };
  return { allowed: false, message: `${admission.reason}; pending proxies: ${admission.pending.join(', ')}` };
}

/**
 * The offline proxies a rotation's own write leaves out (EXCLUDE_OFFLINE_ANNOTATION): only on a write
 * that sets a new LAST_CHANGE_ANNOTATION (a later `kubectl apply` keeping the old annotations gets
 * none), and only proxies offline now.
 */
function rotationExclusions(annotations: Record<string, string> | undefined, before: Record<string, string> | undefined, proxies: readonly ProxyState[]): Set<string> {
  const change = annotations?.[LAST_CHANGE_ANNOTATION];
  if (!change || change === before?.[LAST_CHANGE_ANNOTATION]) return new Set();
  const named = new Set((annotations?.[EXCLUDE_OFFLINE_ANNOTATION] ?? '').split(',').map((name) => name.trim()).filter(Boolean));
  return new Set(proxies.filter((proxy) => !proxy.online && named.has(proxy.name)).map((proxy) => proxy.name));
}

export async function startMeshWebhook(options: {
  connection: KubernetesConnection;
  store: ControlPlaneStore;
  port?: number;
  host?: string;
  /** The URL the API server calls; default https://HOST:PORT (a loopback API server). */
  url?: string;
}): Promise<MeshWebhook> {
  const host = options.host ?? '127.0.0.1';
  const certificate = await generateServingCertificate({ commonName: 'mesh-ca-rotator-webhook', dnsNames: ['localhost'], ipAddresses: [host === '0.0.0.0' ? '127.0.0.1' : host] });
  const server = createServer({ cert: certificate.certificatePem, key: certificate.privateKeyPem }, (req, res) => void handle(options.store, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = options.url ?? `https://${host}:${port}${WEBHOOK_PATH}`;
  await applyObjects(options.connection, [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: WEBHOOK_CONFIGURATION_NAME },
      webhooks: [
        {
          name: 'mesh-validator.mesh-ca-rotator.kong.io',
          clientConfig: { url, caBundle: Buffer.from(certificate.caPem).toString('base64') },
          rules: [{ apiGroups: ['kuma.io'], apiVersions: ['v1alpha1'], operations: ['CREATE', 'UPDATE'], resources: ['meshes'], scope: 'Cluster' }],
          // Safety first: while the control plane is unreachable, Mesh edits wait rather than skip the gate.
          failurePolicy: 'Fail',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 10,
        },
      ],
    },
  ]);
  return {
    url,
    caPem: certificate.caPem,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(store: ControlPlaneStore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST' || !req.url?.startsWith(WEBHOOK_PATH)) {
    res.writeHead(404).end();
    return;
  }
  let raw = '';
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      res.writeHead(413).end();
      return;
    }
    raw += String(chunk);
  }
  let review: z.infer<typeof AdmissionReviewSchema>;
  try {
    review = AdmissionReviewSchema.parse(JSON.parse(raw));
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'expected an admission.k8s.io/v1 AdmissionReview' }));
    return;
  }
  const { uid, object, oldObject } = review.request;
  const verdict = reviewMeshChange(store, object, oldObject);
  const response = verdict.allowed
    ? { uid, allowed: true }
    : { uid, allowed: false, status: { code: 422, reason: 'Invalid', message: verdict.message } };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: review.apiVersion, kind: 'AdmissionReview', response }));
}
