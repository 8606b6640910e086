/**
 * A real control plane on a fresh store for the security tests, raw HTTP(S) requests with any
 * credential, and a fingerprint of everything the store holds (to prove a refusal changed nothing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { ControlPlaneClient } from '../../src/controlplane/client';
import { startControlPlane, type ControlPlaneOptions, type RunningControlPlane } from '../../src/controlplane/server';
import { ProxyKey } from '../../src/dataplane/identity';
import type { Mesh } from '../../src/mesh/schema';

export const ADMIN = 'security-admin-token-0123456789';

export interface RawResponse {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

export interface SecurityFixture {
  cp: RunningControlPlane;
  admin: ControlPlaneClient;
  dir: string;
  dbFile: string;
  /** Any request, bytes as given; `rawPath` is sent unparsed. */
  raw(method: string, pathname: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string }): Promise<RawResponse>;
  /** Everything a caller could have changed: meshes with history, secrets (names and values), proxies with insights. */
  snapshot(): Promise<string>;
  restart(overrides?: Partial<ControlPlaneOptions>): Promise<void>;
  stop(): Promise<void>;
}

export const meshWith = (name: string, enabled: string, backends: string[]): Mesh => ({
  type: 'Mesh',
  name,
  mtls: { enabledBackend: enabled, backends: backends.map((b) => ({ name: b, type: 'builtin' })) },
});

export async function startSecurityFixture(options: Partial<ControlPlaneOptions> = {}): Promise<SecurityFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cp-sec-'));
  const dbFile = path.join(dir, 'cp.db');
  const base: ControlPlaneOptions = { dbFile, port: 0, token: ADMIN, logger: () => undefined, ...options };
  let cp = await startControlPlane(base);
  const fixture: SecurityFixture = {
    get cp() {
      return cp;
    },
    get admin() {
      return new ControlPlaneClient({ url: cp.url, token: ADMIN, caFile: cp.caFile });
    },
    dir,
    dbFile,
    raw: (method, pathname, opts = {}) => rawRequest(cp, method, pathname, opts),
    async snapshot() {
      const admin = fixture.admin;
      const meshes = await admin.listMeshes();
      const parts: unknown[] = [];
      for (const mesh of meshes) {
        const secrets = await fixture.raw('GET', `/meshes/${mesh.name}/secrets`, { token: ADMIN });
        const names = ((secrets.body.items as { name: string }[] | undefined) ?? []).map((s) => s.name);
        const values = await Promise.all(names.map((n) => admin.getSecret(mesh.name, n)));
        const proxies = await admin.listDataplaneInsights(mesh.name);
        parts.push({ mesh, history: await admin.meshHistory(mesh.name), values, proxies: proxies.map(({ name, tags, mTLS }) => ({ name, tags, mTLS })) });
      }
      return JSON.stringify(parts);
    },
    async restart(overrides = {}) {
      const port = Number(new URL(cp.url).port);
      await cp.stop();
      cp = await startControlPlane({ ...base, port, ...overrides });
    },
    async stop() {
      await cp.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

export function rawRequest(
  cp: RunningControlPlane,
  method: string,
  pathname: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<RawResponse> {
  const url = new URL(cp.url);
  const body = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: pathname,
        ...(cp.caPem ? { ca: cp.caPem } : {}),
        // A Host header of the test's choosing must not become the TLS server name to verify.
        ...(opts.headers?.host ? { servername: 'localhost' } : {}),
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            parsed = {};
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function causeFields(response: RawResponse): string[] {
  return ((response.body.causes as { field: string }[] | undefined) ?? []).map((c) => c.field);
}

export async function registration(host: string, proxies: { mesh: string; name: string; service: string; key?: ProxyKey }[]) {
  return {
    host,
    proxies: await Promise.all(
      proxies.map(async (p) => {
        const key = p.key ?? (await ProxyKey.generate());
        return { mesh: p.mesh, name: p.name, address: '127.0.0.1', port: 10_001, tags: { 'kuma.io/service': p.service }, csr: key.createCsrPem(p.name) };
      }),
    ),
  };
}
