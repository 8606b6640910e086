/** HTTP calls of the data plane side of the control plane API (`/dp/v1/`), bearer token on each. */
import { KumaErrorBodySchema, readKumaError } from '../mesh/api-error';
import { Agent } from 'undici';
import type { ProxyAckMessage, RegisterProxiesRequest } from '../mesh/dataplane-api';

export class ControlPlaneRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ControlPlaneRequestError';
  }
}

export class DataplaneControlPlaneClient {
  private readonly baseUrl: string;
  private readonly dispatcher: Agent | undefined;

  constructor(
    controlPlaneUrl: string,
    private readonly token: string,
    /** The CA the control plane's API certificate must chain to (https). */
    readonly caPem?: string,
  ) {
    this.baseUrl = controlPlaneUrl.replace(/\/+$/, '');
    this.dispatcher = caPem ? new Agent({ connect: { ca: caPem } }) : undefined;
  }

  streamUrl(hostId: string): string {
    return `${this.baseUrl}/dp/v1/stream?host=${encodeURIComponent(hostId)}`;
  }

  get authorization(): string {
    return `Bearer ${this.token}`;
  }

  async registerProxies(request: RegisterProxiesRequest): Promise<void> {
    await this.send('POST', '/dp/v1/proxies', request);
  }

  async postAcks(acks: ProxyAckMessage[]): Promise<void> {
    await this.send('POST', '/dp/v1/acks', { acks });
  }

  async deregisterProxy(mesh: string, name: string): Promise<void> {
    await this.send('DELETE', `/dp/v1/proxies/${encodeURIComponent(mesh)}/${encodeURIComponent(name)}`);
  }

  private async send(method: string, path: string, body?: unknown): Promise<void> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: this.authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
    } as RequestInit);
    if (response.ok) {
      await response.arrayBuffer();
      return;
    }
    const text = await response.text();
    let detail = text.slice(0, 300);
    try {
      const parsed = KumaErrorBodySchema.safeParse(JSON.parse(text));
      if (parsed.success) detail = [parsed.data.title, readKumaError(parsed.data).detail].filter(Boolean).join(': ') || detail;
    } catch {
      // not JSON: keep the raw excerpt
    }
    throw new ControlPlaneRequestError(`${method} ${path}: ${response.status} ${detail}`, response.status);
  }
}
