/**
 * Typed client of the control plane API (docs/control-plane-api.md). Every response is validated.
 * Failures are typed: `ControlPlaneError` for an answer (status, causes, pending proxies),
 * `ControlPlaneUnreachableError` for no answer (network, timeout), which callers may retry.
 */
import { z } from 'zod';
import { type DataplaneMtls, type ProxySnapshot, groupProxyStates } from '../mesh/insights';
import { type Mesh, MeshSchema, type Secret, SecretSchema } from '../mesh/schema';
import {
  type ErrorCause,
  DataplaneOverviewPageSchema,
  ErrorBodySchema,
  type MeshHistory,
  MeshHistorySchema,
  type MeshInsight,
  MeshInsightSchema,
  MeshListSchema,
  ReissueResultSchema,
  ServedMeshSchema,
} from './api-schemas';

export class ControlPlaneError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly details: string | undefined,
    readonly causes: ErrorCause[],
    readonly pending: string[],
  ) {
    super(`${status} ${title}${details ? `: ${details}` : ''}${causes.length ? ` (${causes.map((c) => `${c.field}: ${c.message}`).join('; ')})` : ''}`);
    this.name = 'ControlPlaneError';
  }
}

export class ControlPlaneUnreachableError extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`control plane at ${url} is unreachable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ControlPlaneUnreachableError';
  }
}

export interface DataplaneInsightItem {
  name: string;
  online: boolean;
  tags: Record<string, string>;
  mTLS: DataplaneMtls;
}

const INSIGHTS_PAGE_SIZE = 1_000;

export class ControlPlaneClient {
  private readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: { url: string; token?: string; timeoutMs?: number }) {
    this.baseUrl = opts.url.replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async getMesh(name: string): Promise<{ mesh: Mesh; version: number } | undefined> {
    const response = await this.request('GET', `/meshes/${enc(name)}`, { allow404: true });
    if (!response) return undefined;
    const served = parse(ServedMeshSchema, response.body, 'mesh');
    const { creationTime: _c, modificationTime: _m, ...mesh } = served;
    return { mesh: MeshSchema.parse(mesh), version: versionOf(response.headers) };
  }

  async listMeshes(): Promise<Mesh[]> {
    const response = await this.request('GET', '/meshes');
    return parse(MeshListSchema, response?.body, 'mesh list').items.map(({ creationTime: _c, modificationTime: _m, ...mesh }) => MeshSchema.parse(mesh));
  }

  /** PUT; with `ifVersion` it applies only over that version (409 otherwise), with `force` it skips the step gates. */
  async putMesh(mesh: Mesh, opts: { ifVersion?: number; force?: boolean; actor?: string } = {}): Promise<{ version: number }> {
    const headers: Record<string, string> = {};
    if (opts.ifVersion !== undefined) headers['if-match'] = `"${opts.ifVersion}"`;
    if (opts.actor) headers['x-ca-rotate-actor'] = opts.actor;
    const response = await this.request('PUT', `/meshes/${enc(mesh.name)}${opts.force ? '?force=true' : ''}`, { body: mesh, headers });
    return { version: versionOf(response?.headers) };
  }

  async deleteMesh(name: string): Promise<void> {
    await this.request('DELETE', `/meshes/${enc(name)}`);
  }

  async meshHistory(name: string): Promise<MeshHistory> {
    const response = await this.request('GET', `/meshes/${enc(name)}/_history`);
    return parse(MeshHistorySchema, response?.body, 'mesh history').items;
  }

  async meshInsights(mesh: string): Promise<MeshInsight> {
    const response = await this.request('GET', `/meshes/${enc(mesh)}/insights`);
    return parse(MeshInsightSchema, response?.body, 'mesh insight');
  }

  async putSecret(secret: Secret): Promise<void> {
    const body = SecretSchema.parse(secret);
    await this.request('PUT', `/meshes/${enc(body.mesh)}/secrets/${enc(body.name)}`, { body });
  }

  async getSecret(mesh: string, name: string): Promise<Secret | undefined> {
    const response = await this.request('GET', `/meshes/${enc(mesh)}/secrets/${enc(name)}`, { allow404: true });
    return response ? parse(SecretSchema, response.body, 'secret') : undefined;
  }

  /** Every proxy of the mesh with its mTLS insight (follows pagination). */
  async listDataplaneInsights(mesh: string): Promise<DataplaneInsightItem[]> {
    return (await this.dataplaneInsightsWithSeq(mesh)).items;
  }

  /** Every proxy's state grouped, tagged with the insight seq read before the listing (for the workflow). */
  async proxySnapshot(mesh: string): Promise<ProxySnapshot> {
    const { items, seq } = await this.dataplaneInsightsWithSeq(mesh);
    const states = items.map((i) => ({ name: i.name, online: i.online, supportedBackends: i.mTLS.supportedBackends, issuedBackend: i.mTLS.issuedBackend }));
    return { mesh, asOfSeq: seq, groups: groupProxyStates(states) };
  }

  /** One page of step 2: signs up to `limit` proxies after `after` with the enabled backend. */
  async reissue(mesh: string, page: { after: string | null; limit: number }): Promise<{ issued: number; skipped: number; next: string | null }> {
    const response = await this.request('POST', `/meshes/${enc(mesh)}/certificates/_reissue`, { body: page });
    return parse(ReissueResultSchema, response?.body, 'reissue result');
  }

  private async dataplaneInsightsWithSeq(mesh: string): Promise<{ items: DataplaneInsightItem[]; seq: number }> {
    const items: DataplaneInsightItem[] = [];
    let seq: number | undefined;
    let path: string | null = `/meshes/${enc(mesh)}/dataplanes+insights?size=${INSIGHTS_PAGE_SIZE}&offset=0`;
    while (path) {
      const response = await this.request('GET', path);
      seq ??= Number(response?.headers.get('x-ca-rotate-seq') ?? 0);
      const page = parse(DataplaneOverviewPageSchema, response?.body, 'dataplanes+insights page');
      for (const item of page.items) {
        const subscription = item.dataplaneInsight.subscriptions.at(-1);
        items.push({
          name: item.name,
          online: subscription !== undefined && subscription.disconnectTime === undefined,
          tags: item.dataplane.networking.inbound[0]?.tags ?? {},
          mTLS: item.dataplaneInsight.mTLS,
        });
      }
      // `next` is an absolute URL built from our own Host header: follow its path and query only.
      path = page.next ? pathAndQuery(page.next) : null;
    }
    return { items, seq: Number.isFinite(seq) ? (seq ?? 0) : 0 };
  }

  private async request(
    method: string,
    path: string,
    opts: { body?: unknown; headers?: Record<string, string>; allow404?: boolean } = {},
  ): Promise<{ body: unknown; headers: Headers } | undefined> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new ControlPlaneUnreachableError(this.baseUrl, err);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw new ControlPlaneUnreachableError(this.baseUrl, err);
    }
    const body: unknown = text ? safeJson(text) : undefined;
    if (response.ok) return { body, headers: response.headers };
    if (response.status === 404 && opts.allow404) return undefined;
    const error = ErrorBodySchema.safeParse(body);
    throw error.success
      ? new ControlPlaneError(response.status, error.data.title, error.data.details, error.data.causes ?? [], error.data.pending ?? [])
      : new ControlPlaneError(response.status, response.statusText || 'Error', text.slice(0, 200) || undefined, [], []);
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
    throw new ControlPlaneError(502, 'Unexpected response', `the control plane's ${what} does not match the API: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`, [], []);
  }
  return result.data;
}

function versionOf(headers: Headers | undefined): number {
  const match = /(\d+)/.exec(headers?.get('etag') ?? '');
  if (!match) throw new ControlPlaneError(502, 'Unexpected response', 'the control plane did not return the mesh version in ETag', [], []);
  return Number(match[1]);
}

function pathAndQuery(absolute: string): string {
  const url = new URL(absolute);
  return `${url.pathname}${url.search}`;
}
