/**
 * The REST routes of docs/control-plane-api.md over Node's http; each handler validates, then acts.
 * Kuma's routes answer as a real kuma-cp does (shapes, pagination, error body, status codes), so the
 * real kumactl works against them; the extras are marked *(ext)*.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import { authorize } from './access';
import { z } from 'zod';
import { decodeBase64, encodeBase64 } from '../mesh/base64';
import { SecretSchema } from '../mesh/schema';
import type { ProxyChangeSink } from './ack-relay';
import type { AckRecorder } from './acks';
import { type Dataplane, type DataplaneOverview, type MeshInsight, ReissueRequestSchema, stripServerMeta } from './api-schemas';
import type { CaAccess } from './ca-access';
import { type Credential, type TokenAuthority, TokenIdSchema, TokenRequestSchema } from './credentials';
import type { Delivery } from './delivery';
import { DP_ROUTES } from './dp-routes';
import { ApiError, badRequest, notFound, parseBody, parseIfMatch, readJson, sendError, sendJson } from './http-util';
import { type CertificateIssuance, IssuanceError } from './issuance';
import type { MeshWriter } from './mesh-writes';
import type { ControlPlaneMetrics } from './metrics';
import { header, kubernetesReadOnly, meshName, resourceName, resourceWrite, route, type Request, type Route } from './route-kit';
import { guardSecretDelete, guardSecretWrite } from './secret-guards';
import type { ControlPlaneStore, DataplaneRow } from './store';
import { errorMessage } from '../mesh/errors';

export interface ApiDeps {
  store: ControlPlaneStore;
  ca: CaAccess;
  delivery: Delivery;
  issuance: CertificateIssuance;
  acks: AckRecorder;
  relay: ProxyChangeSink;
  meshes: MeshWriter;
  /** `GET /`: Kuma's index with our identity and extras (see `controlPlaneIndex`). */
  index: object;
  metrics: ControlPlaneMetrics;
  /** `GET /metrics` readable without a token. */
  publicMetrics: boolean;
  /** Meshes and Secrets live elsewhere (Kubernetes mode): their writes are refused as kuma-cp on Kubernetes refuses them. */
  resourcesReadOnly: boolean;
  authority: TokenAuthority;
  log: (line: string) => void;
}

/**
 * `GET /` says `"product": "Kuma"` with the Kuma version whose API we serve: the real kumactl refuses
 * any other product ("this CLI is for Kuma"), and our client tells us from Kuma by `meshCaRotator`.
 */
export const KUMA_API_VERSION = '2.14.3';

export function controlPlaneIndex(opts: { version: string; extras: readonly string[]; instanceId: string }): object {
  return {
    hostname: os.hostname(),
    tagline: 'Kuma',
    product: 'Kuma',
    version: KUMA_API_VERSION,
    basedOnKuma: KUMA_API_VERSION,
    instanceId: opts.instanceId,
    clusterId: opts.instanceId,
    meshCaRotator: { version: opts.version, extras: [...opts.extras] },
  };
}

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1_000;

const ROUTES: Route<ApiDeps>[] = [
  route('GET', '/', ({ index }, { res }) => sendJson(res, 200, index)),
  // Prometheus: a credential (any role that reads) unless the operator made metrics public (docs/metrics.md); access.ts decides.
  route('GET', '/metrics', ({ metrics }, { res }) => metrics.send(res)),

  // ---- credentials (ext): an admin has the control plane sign a reader, worker or data plane token
  route('POST', '/tokens', async ({ authority }, { req, res }) => {
    const request = parseBody(TokenRequestSchema, await readJson(req), 'token request');
    sendJson(res, 201, authority.issue(request));
  }),
  // Revokes one signed token for good (by the id `POST /tokens` answered); its open streams close.
  route('DELETE', '/tokens/{id}', ({ authority, log }, { res, params, credential }) => {
    const id = TokenIdSchema.safeParse(params[0]);
    if (!id.success) throw badRequest('not a token id', [{ field: 'id', message: 'a token id is a UUID, as POST /tokens answered it' }]);
    const newly = authority.revoke(id.data);
    log(`token ${id.data} ${newly ? 'revoked' : 'was already revoked'} by ${credential?.subject ?? 'anonymous'}`);
    sendJson(res, 200, { id: id.data, revoked: true });
  }),

  // ---- meshes
  route('GET', '/meshes', ({ store }, { res, url }) => {
    sendPage(res, url, store.meshes.list().map(servedMesh));
  }),
  route('GET', '/meshes/{name}', ({ store }, { res, params }) => {
    const stored = store.meshes.get(meshName(params[0]));
    if (!stored) throw notFound(`mesh "${params[0]}" does not exist`);
    sendJson(res, 200, servedMesh(stored), { etag: `"${stored.version}"` });
  }),
  resourceWrite('PUT', '/meshes/{name}', async (deps, { req, res, url, params, credential }) => {
    const name = meshName(params[0]);
    const result = await deps.meshes.put({
      name,
      // Server-owned fields (as `kumactl get mesh -o yaml` prints them) are not part of the mesh: an
      // unchanged mesh sent back writes no version.
      body: withoutServerMeta(await readJson(req)),
      ifVersion: parseIfMatch(header(req, 'if-match')),
      force: url.searchParams.get('force') === 'true',
      actor: actorOf(credential, header(req, 'x-ca-rotate-actor')),
      exclude: excludedProxies(url),
      excludeOnlyOffline: credential?.role !== 'admin',
    });
    if (result.changed) {
      deps.log(`mesh "${name}" is now at version ${result.version}${url.searchParams.get('force') === 'true' ? ' (forced)' : ''}`);
      await deps.delivery.pushMesh(name);
      deps.issuance.kick(name);
    }
    sendJson(res, result.created ? 201 : 200, {}, { etag: `"${result.version}"` });
  }),
  resourceWrite('DELETE', '/meshes/{name}', ({ store }, { res, params }) => {
    if (!store.deleteMesh(meshName(params[0]))) throw notFound(`mesh "${params[0]}" does not exist`);
    sendJson(res, 200, {});
  }),
  route('GET', '/meshes/{name}/_history', ({ store }, { res, params }) => {
    const name = meshName(params[0]);
    if (!store.meshes.get(name)) throw notFound(`mesh "${name}" does not exist`);
    sendJson(res, 200, { items: store.meshes.history(name) });
  }),
  route('GET', '/mesh-insights', ({ store }, { res, url }) => {
    sendPage(res, url, store.meshes.list().map((m) => meshInsight(m, store.dataplanes.insightGroups(m.mesh.name))));
  }),
  route('GET', '/mesh-insights/{name}', ({ store }, { res, params }) => {
    const stored = store.meshes.get(meshName(params[0]));
    if (!stored) throw notFound(`mesh "${params[0]}" does not exist`);
    sendJson(res, 200, meshInsight(stored, store.dataplanes.insightGroups(stored.mesh.name)));
  }),

  // ---- secrets
  route('GET', '/meshes/{mesh}/secrets', ({ store }, { res, url, params }) => {
    const mesh = meshName(params[0]);
    sendPage(res, url, store.secrets.list(mesh).map((s) => ({ type: 'Secret', mesh, ...s })));
  }),
  route('GET', '/meshes/{mesh}/secrets/{name}', ({ store }, { res, params }) => {
    const [mesh, name] = [meshName(params[0]), resourceName(params[1], 'name')];
    const data = store.secrets.get(mesh, name);
    const meta = store.secrets.list(mesh).find((s) => s.name === name);
    if (!data || !meta) throw notFound(`secret "${name}" does not exist in mesh "${mesh}"`);
    sendJson(res, 200, { type: 'Secret', mesh, ...meta, data: encodeBase64(data) });
  }),
  resourceWrite('PUT', '/meshes/{mesh}/secrets/{name}', async ({ store, ca }, { req, res, params }) => {
    const [mesh, name] = [meshName(params[0]), resourceName(params[1], 'name')];
    const secret = parseBody(SecretSchema, withoutServerMeta(await readJson(req)), 'Secret');
    const causes = [
      ...(secret.mesh !== mesh ? [{ field: 'mesh', message: `"${secret.mesh}" does not match "${mesh}" in the path` }] : []),
      ...(secret.name !== name ? [{ field: 'name', message: `"${secret.name}" does not match "${name}" in the path` }] : []),
    ];
    const bytes = decodeBase64(secret.data);
    // Never echo the data itself.
    if (!bytes) causes.push({ field: 'data', message: 'must be standard base64' });
    if (causes.length > 0 || !bytes) throw badRequest('invalid Secret', causes);
    await guardSecretWrite(ca, store.meshes.get(mesh)?.mesh, name, Buffer.from(bytes));
    const { created } = store.secrets.put(mesh, name, Buffer.from(bytes), new Date().toISOString());
    ca.secretsChanged(mesh);
    sendJson(res, created ? 201 : 200, {});
  }),
  resourceWrite('DELETE', '/meshes/{mesh}/secrets/{name}', ({ store, ca }, { res, params }) => {
    const [mesh, name] = [meshName(params[0]), resourceName(params[1], 'name')];
    guardSecretDelete(store.meshes.get(mesh)?.mesh, name);
    if (!store.secrets.delete(mesh, name)) throw notFound(`secret "${name}" does not exist in mesh "${mesh}"`);
    ca.secretsChanged(mesh);
    sendJson(res, 200, {});
  }),

  // ---- data plane proxies, Kuma shapes (`_overview` before `{name}`: the name pattern matches it too)
  route('GET', '/meshes/{mesh}/dataplanes/_overview', (deps, request) => sendOverviews(deps, request)),
  route('GET', '/meshes/{mesh}/dataplanes+insights', (deps, request) => sendOverviews(deps, request)),
  route('GET', '/meshes/{mesh}/dataplanes/{name}/_overview', ({ store }, { res, params }) => {
    sendJson(res, 200, dataplaneOverview(dataplaneNamed(store, params)));
  }),
  route('GET', '/meshes/{mesh}/dataplanes+insights/{name}', ({ store }, { res, params }) => {
    sendJson(res, 200, dataplaneOverview(dataplaneNamed(store, params)));
  }),
  route('GET', '/meshes/{mesh}/dataplanes', ({ store }, { res, url, params }) => {
    const mesh = meshName(params[0]);
    const page = pageOf(url);
    const total = store.dataplanes.count(mesh);
    sendJson(res, 200, { total, items: store.dataplanes.ofMesh(mesh, page).map(dataplaneResource), next: nextPage(url, page, total) });
  }),
  route('GET', '/meshes/{mesh}/dataplanes/{name}', ({ store }, { res, params }) => {
    sendJson(res, 200, dataplaneResource(dataplaneNamed(store, params)));
  }),

  // ---- certificates (ext)
  route('POST', '/meshes/{mesh}/certificates/_reissue', async ({ store, issuance }, { req, res, params }) => {
    const mesh = meshName(params[0]);
    const body = parseBody(ReissueRequestSchema, await readJson(req), 'reissue request');
    const stored = store.meshes.get(mesh);
    if (!stored) throw notFound(`mesh "${mesh}" does not exist`);
    if (!stored.mesh.mtls?.enabledBackend) throw badRequest(`mesh "${mesh}" has no enabled mTLS backend`, [{ field: 'mtls.enabledBackend', message: 'not set' }]);
    try {
      sendJson(res, 200, await issuance.reissue(mesh, body.after, body.limit));
    } catch (err) {
      if (err instanceof IssuanceError) throw new ApiError(502, 'Bad Gateway', err.message, undefined, err.proxies);
      throw err;
    }
  }),
  ...DP_ROUTES,
];

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export async function handleRequest(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = requestUrl(req);
    let methodAllowed = true;
    let resourcePath = false;
    for (const candidate of ROUTES) {
      const match = candidate.pattern.exec(url.pathname);
      if (!match) continue;
      resourcePath ||= candidate.writesResource === true;
      if (candidate.method !== req.method) {
        methodAllowed = false;
        continue;
      }
      const credential = authorize(deps.authority, req, url, { publicMetrics: deps.publicMetrics });
      if (candidate.writesResource && deps.resourcesReadOnly) throw kubernetesReadOnly();
      const params = match.slice(1).map(decodePathSegment);
      await candidate.handle(deps, { req, res, url, params, credential });
      return;
    }
    authorize(deps.authority, req, url, { publicMetrics: deps.publicMetrics });
    // Any other write of a Mesh or a Secret (PATCH, POST) gets the same answer as PUT and DELETE.
    if (!methodAllowed && resourcePath && deps.resourcesReadOnly && !READ_METHODS.has(req.method ?? '')) throw kubernetesReadOnly();
    throw methodAllowed ? notFound(`no route for ${url.pathname}`) : new ApiError(405, 'Method Not Allowed', `${req.method} is not allowed on ${url.pathname}`);
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Refused before its body was read: close after answering, so the unread rest is never taken for a next request.
    if (!req.complete) res.setHeader('connection', 'close');
    if (err instanceof ApiError) {
      sendError(res, err);
      return;
    }
    deps.log(`api: ${req.method} ${req.url?.split('?')[0]} failed: ${errorMessage(err)}`);
    sendError(res, new ApiError(500, 'Internal Server Error', errorMessage(err)));
  }
}

// ---- helpers ------------------------------------------------------------------------------------

const HOST_HEADER = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** The request's URL; a Host header or path that cannot be parsed is the caller's error (400), never ours. */
function requestUrl(req: IncomingMessage): URL {
  const host = req.headers.host ?? 'localhost';
  if (!HOST_HEADER.test(host)) throw badRequest('the Host header is not a host name or address', [{ field: 'Host', message: 'malformed' }]);
  try {
    return new URL(req.url ?? '/', `http://${host}`);
  } catch {
    throw badRequest('the request target is not a valid path', [{ field: 'path', message: 'malformed' }]);
  }
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest('the path holds malformed percent-encoding', [{ field: 'path', message: `"${segment.slice(0, 100)}" is not valid percent-encoding` }]);
  }
}

/** History records who wrote: the credential's subject; a caller's own label follows it, never replaces it. */
function actorOf(credential: Credential | undefined, label: string | undefined): string {
  const subject = credential?.subject ?? 'anonymous';
  const note = label?.replace(/[^\x20-\x7e]/g, '').slice(0, 200);
  return note ? `${subject}: ${note}` : subject;
}

const MAX_EXCLUDED = 1_000;

/** `?exclude=a,b&exclude=c`: proxies left out of admission by name. */
function excludedProxies(url: URL): string[] {
  const names = url.searchParams.getAll('exclude').flatMap((value) => value.split(',')).map((name) => name.trim()).filter(Boolean);
  if (names.length > MAX_EXCLUDED) throw badRequest('too many proxies to exclude', [{ field: 'exclude', message: `at most ${MAX_EXCLUDED} names` }]);
  return names.map((name) => resourceName(name, 'exclude'));
}

const PageQuery = z.object({
  size: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  offset: z.coerce.number().int().min(0).default(0),
});

function pageOf(url: URL): { size: number; offset: number } {
  return parseBody(PageQuery, { size: url.searchParams.get('size') ?? undefined, offset: url.searchParams.get('offset') ?? undefined }, 'page');
}

function nextPage(url: URL, page: { size: number; offset: number }, total: number): string | null {
  if (page.offset + page.size >= total) return null;
  const next = new URL(url);
  next.searchParams.set('size', String(page.size));
  next.searchParams.set('offset', String(page.offset + page.size));
  return next.toString();
}

function servedMesh(stored: { mesh: object; creationTime: string; modificationTime: string }): object {
  return { ...stored.mesh, creationTime: stored.creationTime, modificationTime: stored.modificationTime };
}

function withoutServerMeta(body: unknown): unknown {
  return body && typeof body === 'object' && !Array.isArray(body) ? stripServerMeta(body) : body;
}

/** Kuma's list answer: `{total, items, next}` for the page `size`/`offset` asks for. */
function sendPage(res: ServerResponse, url: URL, all: readonly unknown[]): void {
  const page = pageOf(url);
  sendJson(res, 200, { total: all.length, items: all.slice(page.offset, page.offset + page.size), next: nextPage(url, page, all.length) });
}

function sendOverviews({ store }: ApiDeps, { res, url, params }: Request): void {
  const mesh = meshName(params[0]);
  // Read before the listing: the listing is at least as new as this seq.
  const seq = store.dataplanes.insightSeq(mesh);
  const page = pageOf(url);
  const total = store.dataplanes.count(mesh);
  const items = store.dataplanes.ofMesh(mesh, page).map(dataplaneOverview);
  sendJson(res, 200, { total, items, next: nextPage(url, page, total) }, { 'x-ca-rotate-seq': String(seq) });
}

function dataplaneNamed(store: ControlPlaneStore, params: string[]): DataplaneRow {
  const [mesh, name] = [meshName(params[0]), resourceName(params[1], 'name')];
  const row = store.dataplanes.get(mesh, name);
  if (!row) throw notFound(`dataplane "${name}" does not exist in mesh "${mesh}"`);
  return row;
}

function dataplaneResource(row: DataplaneRow): Dataplane {
  return {
    type: 'Dataplane' as const,
    mesh: row.mesh,
    name: row.name,
    networking: { address: row.address, inbound: [{ port: row.port, tags: row.tags }] },
  };
}

/** Kuma's DataplaneOverview: the spec under `dataplane`, and empty insight fields left out as Kuma does. */
function dataplaneOverview(row: DataplaneRow): DataplaneOverview {
  const mTLS = {
    ...(row.issuedBackend !== undefined ? { issuedBackend: row.issuedBackend } : {}),
    ...(row.supportedBackends.length > 0 ? { supportedBackends: row.supportedBackends } : {}),
    ...(row.certificate ? { certificateExpirationTime: row.certificate.expiresAt } : {}),
    ...(row.lastCertificateRegeneration ? { lastCertificateRegeneration: row.lastCertificateRegeneration } : {}),
    ...(row.certificateRegenerations > 0 ? { certificateRegenerations: row.certificateRegenerations } : {}),
  };
  const subscriptions = row.connectTime || row.disconnectTime ? [{ connectTime: row.connectTime, ...(row.online ? {} : { disconnectTime: row.disconnectTime }) }] : [];
  const { networking } = dataplaneResource(row);
  return {
    type: 'DataplaneOverview',
    mesh: row.mesh,
    name: row.name,
    dataplane: { networking },
    dataplaneInsight: {
      ...(subscriptions.length > 0 ? { subscriptions } : {}),
      ...(Object.keys(mTLS).length > 0 ? { mTLS } : {}),
    },
  };
}

/** Kuma's MeshInsight; like Kuma, zero counts are left out. */
function meshInsight(stored: { mesh: { name: string }; creationTime: string; modificationTime: string }, groups: ReturnType<ControlPlaneStore['dataplanes']['insightGroups']>): MeshInsight {
  type Counts = { total?: number; online?: number; offline?: number };
  const dataplanes: Counts = {};
  const issuedBackends: Record<string, Counts> = {};
  const supportedBackends: Record<string, Counts> = {};
  const add = (c: Counts, online: boolean, n: number) => {
    c.total = (c.total ?? 0) + n;
    if (online) c.online = (c.online ?? 0) + n;
    else c.offline = (c.offline ?? 0) + n;
  };
  for (const group of groups) {
    add(dataplanes, group.online, group.count);
    if (group.issuedBackend) add((issuedBackends[group.issuedBackend] ??= {}), group.online, group.count);
    for (const backend of group.supportedBackends) add((supportedBackends[backend] ??= {}), group.online, group.count);
  }
  return {
    type: 'MeshInsight' as const,
    name: stored.mesh.name,
    creationTime: stored.creationTime,
    modificationTime: stored.modificationTime,
    dataplanes,
    mTLS: {
      ...(Object.keys(issuedBackends).length > 0 ? { issuedBackends } : {}),
      ...(Object.keys(supportedBackends).length > 0 ? { supportedBackends } : {}),
    },
  };
}
