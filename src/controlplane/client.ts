/**
 * Typed client of a Kuma control plane's REST API: real kuma-cp, Kong Mesh, or ours
 * (docs/control-plane-api.md). It uses what every Kuma offers (`GET /`, meshes, secrets,
 * `dataplanes/_overview`); our control plane's extras (mesh versions in ETag, `_history`, `_reissue`)
 * are separate calls that callers use only where the server offers them. Every response is validated.
 *
 * Failures are typed and say whether retrying can help (client-errors.ts).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { z } from 'zod';
import { KumaErrorBodySchema, readKumaError } from '../mesh/api-error';
import { type DataplaneMtls, type ProxySnapshot, type ProxyState, groupProxyStates } from '../mesh/insights';
import { type Mesh, MeshSchema, type Secret, SecretSchema } from '../mesh/schema';
import {
  ControlPlaneIndexSchema,
  type ControlPlaneIndex,
  DataplaneOverviewPageSchema,
  type DataplaneOverview,
  MeshHistorySchema,
  type MeshHistory,
  MeshInsightSchema,
  type MeshInsight,
  MeshListSchema,
  ReissuePageSchema,
  type ReissuePage,
  ServedMeshSchema,
  stripServerMeta,
} from './api-schemas';
import { errorMessage } from '../mesh/errors';
import type { TokenRequest } from './credentials';
import { ControlPlaneError, ControlPlaneTlsError, ControlPlaneUnreachableError } from './client-errors';

export { ControlPlaneError, ControlPlaneTlsError, ControlPlaneUnreachableError };

const IssuedTokenSchema = z.object({ token: z.string().min(1), id: z.string().min(1) });

/** How to reach a control plane: its API URL and the credentials it wants (all optional). */
export interface ControlPlaneConnection {
  url: string;
  /** Bearer token: Kuma's user token (`kumactl config control-planes add --auth-type=tokens`) or ours. */
  token?: string;
  /** PEM file of the CA that signed the control plane's HTTPS certificate (default: the system's). */
  caFile?: string;
  /** PEM client certificate and key (Kuma's admin client certificates). */
  clientCertFile?: string;
  clientKeyFile?: string;
  timeoutMs?: number;
}

export interface DataplaneInsightItem {
  name: string;
  online: boolean;
  tags: Record<string, string>;
  mTLS: DataplaneMtls;
}

/** Every proxy of a mesh as one read of `_overview`, with when and as of what the server answered. */
export interface OverviewReading {
  items: DataplaneInsightItem[];
  /** The server's insight sequence number read before the listing (our control plane only). */
  seq: number | undefined;
  /** The server's clock (its `Date` header, whole seconds, rounded down) when the first page was served. */
  serverTimeMs: number | undefined;
}

const OVERVIEW_PAGE_SIZE = 1_000;

export class ControlPlaneClient {
  readonly url: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly connection: ControlPlaneConnection;

  constructor(connection: ControlPlaneConnection) {
    this.connection = connection;
    this.url = connection.url.replace(/\/+$/, '');
    this.token = connection.token;
    this.timeoutMs = connection.timeoutMs ?? 30_000;
    const secure = new URL(this.url).protocol === 'https:';
    if (!secure && (connection.caFile || connection.clientCertFile)) {
      throw new ControlPlaneTlsError(`a CA file or client certificate was given, but ${this.url} is not an https:// URL`, undefined);
    }
    if (Boolean(connection.clientCertFile) !== Boolean(connection.clientKeyFile)) {
      throw new ControlPlaneTlsError('a client certificate needs both its certificate file and its key file', undefined);
    }
    this.transport = secure ? https : http;
    const tlsOptions = {
      ...(connection.caFile ? { ca: readPem(connection.caFile, 'CA file') } : {}),
      ...(connection.clientCertFile ? { cert: readPem(connection.clientCertFile, 'client certificate') } : {}),
      ...(connection.clientKeyFile ? { key: readPem(connection.clientKeyFile, 'client key') } : {}),
    };
    if (secure) {
      try {
        tls.createSecureContext(tlsOptions);
      } catch (err) {
        throw new ControlPlaneTlsError(`the CA file, client certificate or client key cannot be used: ${errorMessage(err)} (a certificate and key that do not belong together?)`, err);
      }
    }
    this.agent = secure ? new https.Agent({ keepAlive: true, ...tlsOptions }) : new http.Agent({ keepAlive: true });
  }

  /** Closes idle keep-alive connections (a client that is dropped needs no call). */
  close(): void {
    this.agent.destroy();
  }

  /** `GET /`: which product and version answers, and (ours only) which extras it offers. */
  async index(): Promise<ControlPlaneIndex> {
    const response = await this.request('GET', '/');
    return parse(ControlPlaneIndexSchema, response.body, 'index (GET /)');
  }

  /** The mesh without server-owned fields; `version` only where the server numbers versions (ours, in ETag). */
  async getMesh(name: string): Promise<{ mesh: Mesh; version: number | undefined; modificationTime: string | undefined } | undefined> {
    const response = await this.request('GET', `/meshes/${enc(name)}`, { allow404: true });
    if (response.status === 404) return undefined;
    const served = parse(ServedMeshSchema, response.body, 'mesh');
    return { mesh: MeshSchema.parse(stripServerMeta(served)), version: versionOf(response.headers), modificationTime: served.modificationTime };
  }

  async listMeshes(): Promise<Mesh[]> {
    const meshes: Mesh[] = [];
    for await (const page of this.pages('/meshes', MeshListSchema, 'mesh list')) meshes.push(...page.items.map((m) => MeshSchema.parse(stripServerMeta(m))));
    return meshes;
  }

  /**
   * PUT. `ifVersion` (ours only) applies it only over that version (409 otherwise); `force` (ours only)
   * skips the step gates; `exclude` (ours only) leaves those proxies out of the gates (recorded in the
   * history). Returns the new version where the server numbers them.
   */
  async putMesh(mesh: Mesh, opts: { ifVersion?: number; force?: boolean; actor?: string; exclude?: readonly string[] } = {}): Promise<{ version: number | undefined }> {
    const headers: Record<string, string> = {};
    if (opts.ifVersion !== undefined) headers['if-match'] = `"${opts.ifVersion}"`;
    if (opts.actor) headers['x-ca-rotate-actor'] = opts.actor;
    const query = new URLSearchParams();
    if (opts.force) query.set('force', 'true');
    if (opts.exclude?.length) query.set('exclude', opts.exclude.join(','));
    const response = await this.request('PUT', `/meshes/${enc(mesh.name)}${query.size > 0 ? `?${query.toString()}` : ''}`, { body: mesh, headers });
    return { version: versionOf(response.headers) };
  }

  async deleteMesh(name: string): Promise<void> {
    await this.request('DELETE', `/meshes/${enc(name)}`);
  }

  /** Ours only: every version of the mesh with who wrote it. */
  async meshHistory(name: string): Promise<MeshHistory> {
    const response = await this.request('GET', `/meshes/${enc(name)}/_history`);
    return parse(MeshHistorySchema, response.body, 'mesh history').items;
  }

  /** Kuma's `GET /mesh-insights/{mesh}`. */
  async meshInsights(mesh: string): Promise<MeshInsight> {
    const response = await this.request('GET', `/mesh-insights/${enc(mesh)}`);
    return parse(MeshInsightSchema, response.body, 'mesh insight');
  }

  async putSecret(secret: Secret): Promise<void> {
    const body = SecretSchema.parse(secret);
    await this.request('PUT', `/meshes/${enc(body.mesh)}/secrets/${enc(body.name)}`, { body: { type: 'Secret', mesh: body.mesh, name: body.name, data: body.data } });
  }

  async getSecret(mesh: string, name: string): Promise<Secret | undefined> {
    const response = await this.request('GET', `/meshes/${enc(mesh)}/secrets/${enc(name)}`, { allow404: true });
    if (response.status === 404) return undefined;
    const secret = parse(SecretSchema, response.body, 'secret');
    return { type: 'Secret', mesh: secret.mesh, name: secret.name, data: secret.data };
  }

  /** Every proxy of the mesh with its mTLS insight (every page of `_overview`). */
  async listDataplaneInsights(mesh: string): Promise<DataplaneInsightItem[]> {
    return (await this.readOverview(mesh)).items;
  }

  /** Every proxy's state grouped, as the server reports it now (no settle rule: see activities/proxy-insights). */
  async proxySnapshot(mesh: string): Promise<ProxySnapshot> {
    const { items, seq } = await this.readOverview(mesh);
    return { mesh, asOfSeq: seq ?? 0, groups: groupProxyStates(items.map(proxyStateOfInsight)) };
  }

  /** `GET /meshes/{mesh}/dataplanes/_overview`, every page, Kuma's omitted fields filled with their empty values. */
  async readOverview(mesh: string): Promise<OverviewReading> {
    const items: DataplaneInsightItem[] = [];
    let seq: number | undefined;
    let serverTimeMs: number | undefined;
    let first = true;
    for await (const page of this.pages(`/meshes/${enc(mesh)}/dataplanes/_overview`, DataplaneOverviewPageSchema, 'dataplanes/_overview page', (headers) => {
      if (!first) return;
      first = false;
      const header = headers['x-ca-rotate-seq'];
      seq = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
      const date = Date.parse(String(headers.date ?? ''));
      serverTimeMs = Number.isFinite(date) ? date : undefined;
    })) {
      items.push(...page.items.map(insightItem));
    }
    return { items, seq, serverTimeMs };
  }

  /** Ours only: one page of step 2, signing up to `limit` proxies after `after` with the enabled backend. */
  async reissue(mesh: string, page: { after: string | null; limit: number }): Promise<ReissuePage> {
    const response = await this.request('POST', `/meshes/${enc(mesh)}/certificates/_reissue`, { body: page });
    return parse(ReissuePageSchema, response.body, 'reissue page');
  }

  /** Ours only: has the control plane sign a reader, worker or data plane token (admin only). Never log the result. */
  async issueToken(request: TokenRequest): Promise<string> {
    return (await this.issueTokenWithId(request)).token;
  }

  /** As `issueToken`, with the token's id (not a secret: what `revokeToken` takes). */
  async issueTokenWithId(request: TokenRequest): Promise<{ token: string; id: string }> {
    const response = await this.request('POST', '/tokens', { body: request });
    return parse(IssuedTokenSchema, response.body, 'issued token');
  }

  /** Ours only: revokes one signed token for good (admin only). */
  async revokeToken(id: string): Promise<void> {
    await this.request('DELETE', `/tokens/${enc(id)}`);
  }

  /** Follows Kuma's `{items, total, next}` pagination; `next` is absolute, built from the server's idea of its host. */
  private async *pages<T extends z.ZodType<{ next: string | null }>>(
    path: string,
    schema: T,
    what: string,
    onHeaders?: (headers: http.IncomingHttpHeaders) => void,
  ): AsyncGenerator<z.infer<T>> {
    let next: string | null = `${path}?size=${OVERVIEW_PAGE_SIZE}`;
    const seen = new Set<string>();
    while (next) {
      if (seen.has(next)) throw new ControlPlaneError(502, 'Unexpected response', `the control plane's ${what} links back to a page already read`, [], []);
      seen.add(next);
      const response = await this.request('GET', next);
      onHeaders?.(response.headers);
      const page = parse(schema, response.body, what);
      yield page;
      next = page.next ? pathAndQuery(page.next) : null;
    }
  }

  private request(
    method: string,
    path: string,
    opts: { body?: unknown; headers?: Record<string, string>; allow404?: boolean } = {},
  ): Promise<{ status: number; body: unknown; headers: http.IncomingHttpHeaders }> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const url = new URL(`${this.url}${path}`);
    return new Promise((resolve, reject) => {
      const req = this.transport.request(url, { method, headers, agent: this.agent, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => reject(new ControlPlaneUnreachableError(this.url, err)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const body: unknown = text ? safeJson(text) : undefined;
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status, body, headers: res.headers });
          else if (status === 404 && opts.allow404) resolve({ status, body, headers: res.headers });
          else reject(this.errorFor(status, res.statusMessage, body, text));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) => reject(this.transportError(err)));
      req.end(payload);
    });
  }

  private errorFor(status: number, statusText: string | undefined, body: unknown, text: string): ControlPlaneError {
    const parsed = KumaErrorBodySchema.safeParse(body);
    if (status === 401 || status === 403) {
      const said = parsed.success ? (readKumaError(parsed.data).detail ?? parsed.data.title) : text.slice(0, 200);
      const hint =
        status === 401
          ? this.token
            ? 'the bearer token (CA_ROTATE_CP_TOKEN) was refused: it is wrong, expired or revoked'
            : 'it wants a bearer token: set CA_ROTATE_CP_TOKEN (Kuma: a user token of the mesh-system:admin group)'
          : this.token || this.connection.clientCertFile
            ? 'the credentials are not allowed this call: use an admin token or an admin client certificate'
            : 'this call needs credentials: set CA_ROTATE_CP_TOKEN (an admin user token) or CA_ROTATE_CP_CLIENT_CERT/KEY (an admin client certificate)';
      return new ControlPlaneError(status, status === 401 ? 'Unauthorized' : 'Forbidden', `${hint}${said ? ` (the control plane said: ${said})` : ''}`, [], []);
    }
    if (status === 400 && /HTTP request to an HTTPS server/i.test(text)) {
      return new ControlPlaneError(status, 'Bad Request', `${this.url} is an HTTPS port: use https:// in CA_ROTATE_CP_URL`, [], []);
    }
    if (parsed.success) {
      const error = readKumaError(parsed.data);
      return new ControlPlaneError(status, error.title, error.detail, error.causes, error.pending);
    }
    return new ControlPlaneError(status, statusText || 'Error', text.slice(0, 200) || undefined, [], []);
  }

  private transportError(err: Error): Error {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const ca = this.connection.caFile ? `the CA in ${this.connection.caFile} (CA_ROTATE_CP_CA_FILE)` : 'the system CAs (set CA_ROTATE_CP_CA_FILE)';
    if (/CERT_HAS_EXPIRED/.test(code)) return new ControlPlaneTlsError(`the control plane's HTTPS certificate at ${this.url} has expired`, err);
    if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE/.test(code)) {
      return new ControlPlaneTlsError(`the control plane's HTTPS certificate at ${this.url} is not signed by ${ca} (${code})`, err);
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return new ControlPlaneTlsError(`the control plane's HTTPS certificate does not name the host of ${this.url}: use the name it was issued for`, err);
    }
    if (/ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN|ACCESS_DENIED)/.test(code)) {
      return new ControlPlaneTlsError(
        this.connection.clientCertFile
          ? `the control plane at ${this.url} refused the client certificate ${this.connection.clientCertFile} (${code})`
          : `the control plane at ${this.url} wants a client certificate: set CA_ROTATE_CP_CLIENT_CERT and CA_ROTATE_CP_CLIENT_KEY`,
        err,
      );
    }
    if (/KEY_VALUES_MISMATCH|ERR_OSSL/.test(code)) return new ControlPlaneTlsError(`the client certificate and key do not belong together or cannot be read (${code})`, err);
    if (code === 'EPROTO' || /WRONG_VERSION_NUMBER/.test(code)) {
      return new ControlPlaneTlsError(`${this.url} does not speak ${new URL(this.url).protocol === 'https:' ? 'HTTPS' : 'HTTP'} on that port (${err.message})`, err);
    }
    return new ControlPlaneUnreachableError(this.url, err);
  }
}

function insightItem(item: DataplaneOverview): DataplaneInsightItem {
  const insight = item.dataplaneInsight ?? {};
  const subscription = insight.subscriptions?.at(-1);
  const mtls = insight.mTLS ?? {};
  return {
    name: item.name,
    online: subscription !== undefined && subscription.connectTime !== undefined && subscription.disconnectTime === undefined,
    tags: item.dataplane?.networking?.inbound?.[0]?.tags ?? {},
    mTLS: {
      ...(mtls.issuedBackend ? { issuedBackend: mtls.issuedBackend } : {}),
      supportedBackends: mtls.supportedBackends ?? [],
      ...(mtls.certificateExpirationTime ? { certificateExpirationTime: mtls.certificateExpirationTime } : {}),
      ...(mtls.lastCertificateRegeneration ? { lastCertificateRegeneration: mtls.lastCertificateRegeneration } : {}),
      ...(mtls.certificateRegenerations !== undefined ? { certificateRegenerations: mtls.certificateRegenerations } : {}),
    },
  };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ControlPlaneTlsError(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, err);
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function parse<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new ControlPlaneError(502, 'Unexpected response', `the control plane's ${what} does not match the Kuma API: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`, [], []);
  }
  return result.data;
}

/** Our control plane's mesh version (`ETag: "7"`); Kuma sends no ETag. */
function versionOf(headers: http.IncomingHttpHeaders): number | undefined {
  const match = /^(?:W\/)?"(\d+)"$/.exec(String(headers.etag ?? ''));
  return match ? Number(match[1]) : undefined;
}

function pathAndQuery(absolute: string): string {
  const url = new URL(absolute, 'http://placeholder');
  return `${url.pathname}${url.search}`;
}

/** What the gates read of a proxy's insight: its mTLS state and when its last certificate expires. */
export function proxyStateOfInsight(item: DataplaneInsightItem): ProxyState {
  const state: ProxyState = { name: item.name, online: item.online, supportedBackends: item.mTLS.supportedBackends, issuedBackend: item.mTLS.issuedBackend };
  if (item.mTLS.certificateExpirationTime) state.certificateExpiresAt = item.mTLS.certificateExpirationTime;
  return state;
}
