/**
 * The control plane's REST API against a real server on a real SQLite file: auth, validation,
 * version conflicts, admission and force, secrets at rest, and a restart that loses nothing.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ControlPlaneClient, ControlPlaneError } from '../../src/controlplane/client';
import { startControlPlane, type RunningControlPlane } from '../../src/controlplane/server';
import { ProxyKey } from '../../src/dataplane/identity';
import type { Mesh } from '../../src/mesh/schema';
import { testServers } from '../harness/env';

const TOKEN = 'test-token-0123456789';
const SECRET_KEY = Buffer.alloc(32, 7);

const meshWith = (enabled: string, backends: string[]): Mesh => ({
  type: 'Mesh',
  name: 'default',
  mtls: { enabledBackend: enabled, backends: backends.map((name) => ({ name, type: 'builtin' })) },
});

interface RawResponse {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function raw(url: string, method: string, pathname: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const response = await fetch(`${url}${pathname}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
}

/** A host stream that stays connected but never acks: its proxies are online and never pass a gate. */
function openSilentStream(url: string, host: string): Promise<{ events: unknown[]; close(): void }> {
  return new Promise((resolve, reject) => {
    const events: unknown[] = [];
    const req = http.get(`${url}/dp/v1/stream?host=${encodeURIComponent(host)}`, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`stream answered ${res.statusCode}`));
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data) events.push(JSON.parse(data));
        }
      });
      resolve({ events, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

async function eventually(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function expectApiError(promise: Promise<unknown>, status: number): Promise<ControlPlaneError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ControlPlaneError);
  expect((error as ControlPlaneError).status).toBe(status);
  return error as ControlPlaneError;
}

describe('control plane API', () => {
  const servers = testServers();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cp-api-'));
  const dbFile = path.join(dir, 'cp.db');
  let cp: RunningControlPlane;
  let client: ControlPlaneClient;

  const start = async () => {
    cp = await startControlPlane({
      dbFile,
      port: 0,
      token: TOKEN,
      secretKey: SECRET_KEY,
      // Plain HTTP: these tests read raw responses; TLS has its own tests (security-*.test.ts).
      tls: false,
      temporal: { address: servers.temporalAddress, namespace: servers.temporalNamespace },
      logger: () => undefined,
    });
    client = new ControlPlaneClient({ url: cp.url, token: TOKEN });
  };

  beforeAll(start);
  afterAll(async () => {
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('writes, secret reads and mesh reads need a credential; GET / is public', async () => {
    const body = meshWith('ca-1', ['ca-1']);
    expect((await raw(cp.url, 'PUT', '/meshes/default', { body })).status).toBe(401);
    expect((await raw(cp.url, 'PUT', '/meshes/default', { body, token: 'wrong' })).status).toBe(401);
    expect((await raw(cp.url, 'POST', '/dp/v1/acks', { body: { acks: [] } })).status).toBe(401);
    expect((await raw(cp.url, 'GET', '/meshes/default')).status).toBe(401);
    expect((await raw(cp.url, 'GET', '/meshes/default', { token: TOKEN })).status).toBe(404); // nothing was written
    expect((await raw(cp.url, 'GET', '/')).status).toBe(200);

    const created = await raw(cp.url, 'PUT', '/meshes/default', { body, token: TOKEN });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('"1"');

    await client.putSecret({ type: 'Secret', mesh: 'default', name: 'api-key', data: Buffer.from('hello').toString('base64') });
    expect((await raw(cp.url, 'GET', '/meshes/default/secrets/api-key')).status).toBe(401);
    expect((await raw(cp.url, 'GET', '/meshes/default/secrets/api-key', { token: 'wrong' })).status).toBe(401);
    expect((await raw(cp.url, 'GET', '/meshes/default/secrets/api-key', { token: TOKEN })).body.data).toBe(Buffer.from('hello').toString('base64'));
    expect((await raw(cp.url, 'GET', '/meshes/default')).status).toBe(401);
    expect((await raw(cp.url, 'GET', '/meshes/default', { token: TOKEN })).status).toBe(200);
  });

  test('invalid meshes are refused with causes that name each field, and nothing changes', async () => {
    const before = await client.meshHistory('default');
    const unknownType = await expectApiError(
      client.putMesh({ type: 'Mesh', name: 'default', mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }, { name: 'ca-9', type: 'acme' }] } }),
      400,
    );
    expect(unknownType.causes.map((c) => c.field)).toContain('mtls.backends[1].type');

    const missingEnabled = await expectApiError(client.putMesh(meshWith('ca-2', ['ca-1'])), 400);
    expect(missingEnabled.causes.map((c) => c.field)).toContain('mtls.enabledBackend');

    const wrongShape = await raw(cp.url, 'PUT', '/meshes/default', { token: TOKEN, body: { type: 'Mesh', name: 'default', mtls: { backends: 'ca-1' } } });
    expect(wrongShape.status).toBe(400);
    expect((wrongShape.body.causes as { field: string }[]).map((c) => c.field)).toContain('mtls.backends');

    const notJson = await raw(cp.url, 'PUT', '/meshes/default', { token: TOKEN, body: '{"type": "Mesh",' });
    expect(notJson.status).toBe(400);

    const nameMismatch = await raw(cp.url, 'PUT', '/meshes/default', { token: TOKEN, body: { ...meshWith('ca-1', ['ca-1']), name: 'other' } });
    expect(nameMismatch.status).toBe(400);
    expect((nameMismatch.body.causes as { field: string }[])[0]?.field).toBe('name');

    const badSecret = await raw(cp.url, 'PUT', '/meshes/default/secrets/s1', { token: TOKEN, body: { type: 'Secret', mesh: 'default', name: 's1', data: 'not base64!' } });
    expect(badSecret.status).toBe(400);
    expect(badSecret.body.causes).toEqual([{ field: 'data', message: 'must be standard base64' }]);
    expect(JSON.stringify(badSecret.body)).not.toContain('not base64!');
    expect(await client.getSecret('default', 's1')).toBeUndefined();

    expect(await client.meshHistory('default')).toEqual(before);
  });

  test('a PUT carrying a stale version gets 409 and changes nothing', async () => {
    const current = await client.getMesh('default');
    expect(current).toBeDefined();
    const v = current?.version ?? 0;
    const added = meshWith('ca-1', ['ca-1', 'ca-2']);
    expect((await client.putMesh(added, { ifVersion: v, actor: 'alice' })).version).toBe(v + 1);
    // The same request retried (its reply was lost): refused, no second version.
    const retry = await expectApiError(client.putMesh(added, { ifVersion: v, actor: 'alice' }), 409);
    expect(retry.details).toContain(`version ${v + 1}`);
    const conflicting = await expectApiError(client.putMesh(meshWith('ca-1', ['ca-1']), { ifVersion: v }), 409);
    expect(conflicting.status).toBe(409);
    const history = await client.meshHistory('default');
    expect(history.map((h) => h.version)).toEqual([1, 2]);
    expect(history[1]).toMatchObject({ version: 2, actor: 'admin: alice', forced: false, mesh: added });
    expect((await client.getMesh('default'))?.mesh).toEqual(added);
  });

  test('admission refuses a switch while an online proxy does not trust the new CA (422 names it); force applies it and the history says so', async () => {
    const key = await ProxyKey.generate();
    const registration = {
      host: 'silent-host',
      proxies: [{ mesh: 'default', name: 'silent-1', address: '127.0.0.1', port: 10001, tags: { 'kuma.io/service': 'web' }, csr: key.createCsrPem('silent-1') }],
    };
    expect((await raw(cp.url, 'POST', '/dp/v1/proxies', { token: TOKEN, body: registration })).status).toBe(204);
    const badRegistration = await raw(cp.url, 'POST', '/dp/v1/proxies', {
      token: TOKEN,
      body: { host: 'h', proxies: [{ ...registration.proxies[0], mesh: 'nope', tags: {} }] },
    });
    expect(badRegistration.status).toBe(400);
    expect((badRegistration.body.causes as { field: string }[]).map((c) => c.field)).toEqual(['proxies[0].tags']);

    const stream = await openSilentStream(cp.url, 'silent-host');
    try {
      // It receives a config with both CAs and a certificate from ca-1, and never acks it.
      await eventually('a certificate for silent-1', () =>
        stream.events.some((e) => (e as { certificate: { backend: string } | null }).certificate?.backend === 'ca-1'),
      );
      const last = stream.events.at(-1) as { trustBundle: { backend: string; pem: string; fingerprint: string }[]; certificate: { pem: string } };
      expect(last.trustBundle.map((t) => t.backend).sort()).toEqual(['ca-1', 'ca-2']);
      for (const entry of last.trustBundle) {
        expect(entry.fingerprint).toBe(createHash('sha256').update(new X509Certificate(entry.pem).raw).digest('hex'));
      }
      expect(new X509Certificate(last.certificate.pem).publicKey.equals(key.publicKey)).toBe(true);

      const current = await client.getMesh('default');
      const refused = await expectApiError(client.putMesh(meshWith('ca-2', ['ca-1', 'ca-2']), { ifVersion: current?.version }), 422);
      expect(refused.pending).toEqual(['silent-1']);
      expect(refused.details).toContain('ca-2');
      expect((await client.getMesh('default'))?.version).toBe(current?.version);

      const forced = await client.putMesh(meshWith('ca-2', ['ca-1', 'ca-2']), { ifVersion: current?.version, force: true, actor: 'operator' });
      const history = await client.meshHistory('default');
      expect(history.at(-1)).toMatchObject({ version: forced.version, forced: true, actor: 'admin: operator' });

      // The control plane re-issues on its own once the enabled backend changed.
      await eventually('a certificate from ca-2', () =>
        stream.events.some((e) => (e as { certificate: { backend: string } | null }).certificate?.backend === 'ca-2'),
      );
      const insights = await client.listDataplaneInsights('default');
      expect(insights).toEqual([
        expect.objectContaining({ name: 'silent-1', online: true, tags: { 'kuma.io/service': 'web' }, mTLS: expect.objectContaining({ certificateRegenerations: 2 }) }),
      ]);
      // Never acked: the control plane does not guess what the proxy trusts or holds.
      expect(insights[0]?.mTLS.supportedBackends).toEqual([]);
      expect(insights[0]?.mTLS.issuedBackend).toBeUndefined();
      const reissued = await client.reissue('default', { after: null, limit: 10 });
      expect(reissued).toEqual({ issued: 0, skipped: 1, next: null });
    } finally {
      stream.close();
    }
    await eventually('silent-1 offline', async () => (await client.listDataplaneInsights('default'))[0]?.online === false);
  });

  test('secret data is encrypted at rest: the raw database files never hold its bytes', async () => {
    const marker = `very-secret-value-${Date.now()}`;
    await client.putSecret({ type: 'Secret', mesh: 'default', name: 'marker', data: Buffer.from(marker).toString('base64') });
    expect((await client.getSecret('default', 'marker'))?.data).toBe(Buffer.from(marker).toString('base64'));
    const files = readdirSync(dir).filter((f) => f.startsWith('cp.db'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const bytes = readFileSync(path.join(dir, file));
      expect(bytes.includes(Buffer.from(marker))).toBe(false);
      expect(bytes.includes(Buffer.from(Buffer.from(marker).toString('base64')))).toBe(false);
    }
  });

  test('a restart on the same database loses nothing: meshes, history, secrets, proxies', async () => {
    const before = {
      mesh: await client.getMesh('default'),
      history: await client.meshHistory('default'),
      secret: await client.getSecret('default', 'marker'),
      proxies: (await client.listDataplaneInsights('default')).map(({ name, tags, mTLS }) => ({ name, tags, mTLS })),
    };
    expect(before.proxies).toHaveLength(1);
    await cp.stop();
    await start();
    expect(await client.getMesh('default')).toEqual(before.mesh);
    expect(await client.meshHistory('default')).toEqual(before.history);
    expect(await client.getSecret('default', 'marker')).toEqual(before.secret);
    const after = await client.listDataplaneInsights('default');
    expect(after.map(({ name, tags, mTLS }) => ({ name, tags, mTLS }))).toEqual(before.proxies);
    expect(after.every((p) => !p.online)).toBe(true);
  });

  test('the wrong secret key cannot read the secrets of a store: the control plane refuses to start', async () => {
    await cp.stop();
    try {
      await expect(startControlPlane({ dbFile, port: 0, token: TOKEN, secretKey: Buffer.alloc(32, 9), tls: false, logger: () => undefined })).rejects.toThrow(
        /secret key does not match/,
      );
    } finally {
      await start();
    }
  });
});
