/**
 * Availability and keys at rest against a real control plane: a trickling body is cut, the
 * connection cap holds, streams are capped per host, big insight reads answer; a lost key stops the
 * start with one line, key and store files are 0600 and never written through a link.
 */
import { existsSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import tls from 'node:tls';
import path from 'node:path';
import { startControlPlane } from '../../src/controlplane/server';
import { ADMIN, meshWith, rawRequest, registration, startSecurityFixture, type SecurityFixture } from './security-support';

function openTls(url: string, ca: string | undefined): Promise<tls.TLSSocket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), ca, servername: 'localhost' }, () => resolve(socket));
    socket.on('error', reject);
  });
}

function closed(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => resolve(text));
  });
}

describe('availability', () => {
  let fx: SecurityFixture;
  beforeAll(async () => {
    fx = await startSecurityFixture({ requestTimeoutMs: 2_000, maxConnections: 20 });
    await fx.admin.putMesh(meshWith('default', 'ca-1', ['ca-1']));
  });
  afterAll(() => fx.stop());

  test('a body that trickles is cut (408, connection closed), nothing changes; a delivery stream outlives that timeout', async () => {
    const before = await fx.snapshot();
    const socket = await openTls(fx.cp.url, fx.cp.caPem);
    const ended = closed(socket);
    socket.write(`PUT /meshes/default HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"type":`);
    expect(await ended).toMatch(/^HTTP\/1\.1 408/);
    expect(await fx.snapshot()).toBe(before);

    const stream = await openTls(fx.cp.url, fx.cp.caPem);
    let streamText = '';
    let streamClosed = false;
    stream.on('data', (d: Buffer) => (streamText += d.toString()));
    stream.on('close', () => (streamClosed = true));
    stream.write(`GET /dp/v1/stream?host=h1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ADMIN}\r\n\r\n`);
    // Wait past the request timeout, as measured by the server answering another trickled request.
    const late = await openTls(fx.cp.url, fx.cp.caPem);
    const lateEnded = closed(late);
    late.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
    await lateEnded;
    expect(streamText).toMatch(/^HTTP\/1\.1 200/);
    expect(streamClosed).toBe(false);
    stream.destroy();
  });

  test('a host gets at most 4 delivery streams (429 names the host)', async () => {
    const streams = await Promise.all(Array.from({ length: 4 }, () => openTls(fx.cp.url, fx.cp.caPem)));
    const heads = streams.map(
      (s) =>
        new Promise<string>((resolve) => {
          s.once('data', (d: Buffer) => resolve(d.toString()));
          s.write(`GET /dp/v1/stream?host=busy HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ADMIN}\r\n\r\n`);
        }),
    );
    for (const head of await Promise.all(heads)) expect(head).toMatch(/^HTTP\/1\.1 200/);
    const fifth = await fx.raw('GET', '/dp/v1/stream?host=busy', { token: ADMIN });
    expect(fifth.status).toBe(429);
    expect(fifth.body.causes).toEqual([{ field: 'host', message: 'too many streams' }]);
    for (const s of streams) s.destroy();
  });

  test('beyond the connection cap new connections are dropped; open ones keep working', async () => {
    const held: tls.TLSSocket[] = [];
    try {
      for (let i = 0; i < 25; i++) {
        const socket = await openTls(fx.cp.url, fx.cp.caPem).catch(() => undefined);
        if (socket) held.push(socket);
      }
      const refused = await rawRequest(fx.cp, 'GET', '/', {}).then(
        (r) => r.status,
        () => 'dropped',
      );
      expect(refused).toBe('dropped');
    } finally {
      for (const s of held) s.destroy();
    }
    // Freed: served again.
    let status: number | string = 'dropped';
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await rawRequest(fx.cp, 'GET', '/', {}).then(
        (r) => r.status,
        () => 'dropped',
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });

  test('insights of a large mesh come from one aggregate query, and pages stay bounded', async () => {
    const proxies = Array.from({ length: 600 }, (_, i) => ({ mesh: 'default', name: `big-${i}`, service: `svc-${i % 7}` }));
    expect((await fx.raw('POST', '/dp/v1/proxies', { token: ADMIN, body: await registration('big-host', proxies) })).status).toBe(204);
    const reads = await Promise.all([
      ...Array.from({ length: 8 }, () => fx.raw('GET', '/mesh-insights/default', { token: ADMIN })),
      fx.raw('GET', '/meshes/default/dataplanes/_overview?size=5000', { token: ADMIN }),
      fx.raw('GET', '/', {}),
    ]);
    for (const read of reads.slice(0, 8)) expect(read.body.dataplanes).toEqual({ total: 600, offline: 600 });
    expect(reads[8]?.status).toBe(400); // a page is at most 1000 items
    expect(reads[9]?.status).toBe(200);
  });
});

describe('keys at rest', () => {
  test('store, key, token, signing key and TLS key files are 0600; a lost key refuses to start with one line and creates none', async () => {
    const fx = await startSecurityFixture({ token: undefined, secretKey: undefined });
    const { dbFile } = fx;
    await fx.admin.putSecret({ type: 'Secret', mesh: 'default', name: 's', data: 'aGk=' }).catch(() => undefined);
    await fx.cp.stop();
    for (const file of [dbFile, `${dbFile}.key`, `${dbFile}.token`, `${dbFile}.signing-key`, `${dbFile}.api.key`]) {
      expect([file, statSync(file).mode & 0o777]).toEqual([file, 0o600]);
    }
    if (existsSync(`${dbFile}-wal`)) expect(statSync(`${dbFile}-wal`).mode & 0o777).toBe(0o600);
    const key = readFileSync(`${dbFile}.key`);
    rmSync(`${dbFile}.key`);
    const env = process.env.CA_ROTATE_SECRET_KEY;
    delete process.env.CA_ROTATE_SECRET_KEY;
    try {
      const error = await startControlPlane({ dbFile, port: 0, logger: () => undefined }).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(error?.message).toMatch(/the store exists but its secret key .* is missing/);
      expect(error?.message.split('\n')).toHaveLength(1);
      expect(existsSync(`${dbFile}.key`)).toBe(false);
    } finally {
      if (env !== undefined) process.env.CA_ROTATE_SECRET_KEY = env;
      writeFileSync(`${dbFile}.key`, key, { mode: 0o600 });
    }
    await fx.restart({ token: undefined, secretKey: undefined });
    await fx.stop();
  });

  test('a key or token file that is a symbolic link is refused, and nothing is written through it', async () => {
    const fx = await startSecurityFixture();
    await fx.cp.stop();
    const target = path.join(fx.dir, 'elsewhere');
    const dbFile = path.join(fx.dir, 'linked.db');
    symlinkSync(target, `${dbFile}.token`);
    await expect(startControlPlane({ dbFile, port: 0, secretKey: Buffer.alloc(32, 1), logger: () => undefined })).rejects.toThrow(/symbolic link|EEXIST/);
    expect(existsSync(target)).toBe(false);
    symlinkSync(target, path.join(fx.dir, 'linked2.db'));
    await expect(startControlPlane({ dbFile: path.join(fx.dir, 'linked2.db'), port: 0, token: ADMIN, secretKey: Buffer.alloc(32, 1), logger: () => undefined })).rejects.toThrow(/symbolic link/);
    expect(existsSync(target)).toBe(false);
    rmSync(fx.dir, { recursive: true, force: true });
  });
});
