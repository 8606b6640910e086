/** Real TLS handshakes on loopback between proxies of one listener: trust, SPIFFE checks, SNI isolation, context swap. */
import { MtlsConnection, type MtlsTarget } from '../../../src/dataplane/mtls-client';
import { MtlsListener } from '../../../src/dataplane/mtls-server';
import { DataplaneProxy } from '../../../src/dataplane/proxy';
import { sha256Fingerprint } from '../../../src/dataplane/tls-context';
import { TrafficGenerator } from '../../../src/dataplane/traffic';
import { configFor, createTestCa, type TestCa } from './test-pki';

const MESH = 'default';
let listener: MtlsListener;
let port: number;
const proxies = new Map<string, DataplaneProxy>();
let caOne: TestCa;
let caTwo: TestCa;
let caRogue: TestCa;

async function newProxy(name: string, service: string, mesh = MESH): Promise<DataplaneProxy> {
  const proxy = await DataplaneProxy.create({ mesh, name, service, address: '127.0.0.1', port, serverName: `${name}.test` });
  proxies.set(proxy.descriptor.serverName, proxy);
  return proxy;
}

function targetOf(proxy: DataplaneProxy, expectedSpiffeId = proxy.spiffeId): MtlsTarget {
  return { port, serverName: proxy.descriptor.serverName, expectedSpiffeId };
}

async function roundTrip(caller: DataplaneProxy, target: MtlsTarget): Promise<string> {
  try {
    const connection = await MtlsConnection.open(caller, target, 3_000);
    try {
      await connection.request();
      return 'ok';
    } finally {
      connection.close();
    }
  } catch (error) {
    return (error as Error).message;
  }
}

beforeAll(async () => {
  [caOne, caTwo, caRogue] = await Promise.all([createTestCa('ca-1'), createTestCa('ca-2'), createTestCa('rogue')]);
  listener = new MtlsListener((serverName) => proxies.get(serverName));
  port = await listener.listen();
});

afterAll(async () => {
  await listener.close();
});

test('two proxies of the mesh talk over mTLS, and each acks what it trusts and who issued it', async () => {
  const web = await newProxy('web-1', 'web');
  const backend = await newProxy('backend-1', 'backend');
  const webAck = web.applyConfig(await configFor(web, [caOne], caOne));
  backend.applyConfig(await configFor(backend, [caOne], caOne));

  expect(await roundTrip(web, targetOf(backend))).toBe('ok');
  expect(await roundTrip(backend, targetOf(web))).toBe('ok');
  const caOneFingerprint = sha256Fingerprint(new (await import('node:crypto')).X509Certificate(caOne.pem));
  expect(webAck).toEqual({ mesh: MESH, name: 'web-1', version: expect.any(Number), trustedRootFingerprints: [caOneFingerprint], certificateIssuerFingerprint: caOneFingerprint });
});

test('a context swap keeps live connections open while new handshakes use the new certificate', async () => {
  const client = await newProxy('swap-client', 'web');
  const server = await newProxy('swap-server', 'backend');
  client.applyConfig(await configFor(client, [caOne, caTwo], caOne));
  server.applyConfig(await configFor(server, [caOne, caTwo], caOne));

  const live = await MtlsConnection.open(client, targetOf(server));
  await live.request();
  expect(live.peerCertificate()?.issuer).toContain('ca-1');

  // Rotation step 2 on the server: a new certificate from ca-2, both CAs still trusted.
  server.applyConfig(await configFor(server, [caOne, caTwo], caTwo));
  const fresh = await MtlsConnection.open(client, targetOf(server));
  await fresh.request();
  expect(fresh.peerCertificate()?.issuer).toContain('ca-2');

  // Step 3 on the server: only ca-2 trusted. Live connections keep the context they were made with.
  server.applyConfig(await configFor(server, [caTwo], caTwo));
  await live.request();
  await live.request();
  expect(live.peerCertificate()?.issuer).toContain('ca-1');
  await fresh.request();
  live.close();
  fresh.close();

  // The server now trusts only ca-2: the client's ca-1 certificate is refused on new handshakes.
  expect(await roundTrip(client, targetOf(server))).toBe('rejected by server: certificate signed by unknown authority');
});

test('a server whose certificate comes from a CA the caller does not trust is refused by the caller', async () => {
  const caller = await newProxy('caller-a', 'web');
  const rogueServer = await newProxy('rogue-server', 'backend');
  caller.applyConfig(await configFor(caller, [caOne], caOne));
  rogueServer.applyConfig(await configFor(rogueServer, [caOne, caRogue], caRogue));
  expect(await roundTrip(caller, targetOf(rogueServer))).toBe('certificate signed by unknown authority');
});

test('a caller whose certificate comes from a CA the server does not trust is refused by the server', async () => {
  const rogueCaller = await newProxy('rogue-caller', 'web');
  const server = await newProxy('server-b', 'backend');
  rogueCaller.applyConfig(await configFor(rogueCaller, [caOne, caRogue], caRogue));
  server.applyConfig(await configFor(server, [caOne], caOne));
  const rejectionsBefore = listener.rejectionsByReason['certificate signed by unknown authority'] ?? 0;
  expect(await roundTrip(rogueCaller, targetOf(server))).toBe('rejected by server: certificate signed by unknown authority');
  expect(listener.rejectionsByReason['certificate signed by unknown authority']).toBe(rejectionsBefore + 1);
});

test('the caller refuses a server that is not the SPIFFE ID it meant to call', async () => {
  const caller = await newProxy('caller-san', 'web');
  const server = await newProxy('server-san', 'backend');
  caller.applyConfig(await configFor(caller, [caOne], caOne));
  server.applyConfig(await configFor(server, [caOne], caOne));
  expect(await roundTrip(caller, targetOf(server, 'spiffe://default/payments'))).toBe('SAN mismatch');
  expect(await roundTrip(caller, targetOf(server, 'spiffe://other-mesh/backend'))).toBe('SAN mismatch');
});

test('the server refuses a caller without a SPIFFE ID of its mesh', async () => {
  const foreign = await newProxy('foreign-caller', 'web');
  const lookalike = await newProxy('lookalike-caller', 'web');
  const server = await newProxy('server-mesh', 'backend');
  foreign.applyConfig(await configFor(foreign, [caOne], caOne, ['spiffe://other-mesh/web']));
  lookalike.applyConfig(await configFor(lookalike, [caOne], caOne, ['spiffe://default-evil/web', 'kuma://kuma.io/service/web']));
  server.applyConfig(await configFor(server, [caOne], caOne));
  expect(await roundTrip(foreign, targetOf(server))).toBe('rejected by server: SAN mismatch');
  expect(await roundTrip(lookalike, targetOf(server))).toBe('rejected by server: SAN mismatch');
});

test('client certificates are verified against the trust bundle of the proxy chosen by SNI, not a shared one', async () => {
  const caller = await newProxy('caller-sni', 'web');
  const trustsRogue = await newProxy('proxy-a', 'backend');
  const trustsOnlyCaOne = await newProxy('proxy-b', 'backend');
  // The caller's certificate comes from the rogue CA, which only proxy A trusts.
  caller.applyConfig(await configFor(caller, [caOne], caRogue));
  trustsRogue.applyConfig(await configFor(trustsRogue, [caOne, caRogue], caOne));
  trustsOnlyCaOne.applyConfig(await configFor(trustsOnlyCaOne, [caOne], caOne));

  expect(await roundTrip(caller, targetOf(trustsRogue))).toBe('ok');
  expect(await roundTrip(caller, targetOf(trustsOnlyCaOne))).toBe('rejected by server: certificate signed by unknown authority');
  // And in the other order, so no cached verification state can explain the result.
  expect(await roundTrip(caller, targetOf(trustsOnlyCaOne))).toBe('rejected by server: certificate signed by unknown authority');
  expect(await roundTrip(caller, targetOf(trustsRogue))).toBe('ok');
});

test('a proxy without a certificate does not serve: the handshake fails', async () => {
  const caller = await newProxy('caller-nocert', 'web');
  const pending = await newProxy('pending', 'backend');
  caller.applyConfig(await configFor(caller, [caOne], caOne));
  pending.applyConfig(await configFor(pending, [caOne], null));
  expect(pending.hasCertificate).toBe(false);
  expect(await roundTrip(caller, targetOf(pending))).not.toBe('ok');
});

test('a config whose certificate is not for the proxy key is not applied and the old context stays', async () => {
  const proxy = await newProxy('mismatch', 'web');
  const other = await newProxy('other', 'web');
  const good = await configFor(proxy, [caOne], caOne);
  proxy.applyConfig(good);
  const foreignCertificate = await configFor(other, [caOne], caOne);
  expect(() => proxy.applyConfig({ ...foreignCertificate, mesh: MESH, name: 'mismatch' })).toThrow('does not match the proxy key');
  expect(proxy.currentTls?.version).toBe(good.version);
});

test('traffic stats count successes and failures with their reasons', async () => {
  const a = await newProxy('traffic-a', 'web');
  const b = await newProxy('traffic-b', 'backend');
  const untrusted = await newProxy('traffic-untrusted', 'backend');
  a.applyConfig(await configFor(a, [caOne], caOne));
  b.applyConfig(await configFor(b, [caOne], caOne));
  untrusted.applyConfig(await configFor(untrusted, [caOne], caRogue));

  let turn = 0;
  const pairs = [
    { caller: a, target: targetOf(b) },
    { caller: a, target: targetOf(untrusted) },
    { caller: b, target: targetOf(a, 'spiffe://default/not-web') },
    { caller: untrusted, target: targetOf(b) },
  ];
  const traffic = new TrafficGenerator(() => pairs[turn++ % pairs.length], { concurrency: 2, pauseMs: 1 });
  traffic.start();
  const started = Date.now();
  while (Date.now() - started < 10_000) {
    const { failuresByReason, ok } = traffic.stats();
    if (ok >= 5 && Object.keys(failuresByReason).length >= 3) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await traffic.stop();
  const stats = traffic.stats();
  expect(stats.ok).toBeGreaterThanOrEqual(5);
  expect(stats.requests).toBe(stats.ok + stats.failed);
  expect(Object.keys(stats.failuresByReason).sort()).toEqual([
    'SAN mismatch',
    'certificate signed by unknown authority',
    'rejected by server: certificate signed by unknown authority',
  ]);
  expect(Object.values(stats.failuresByReason).reduce((sum, n) => sum + n, 0)).toBe(stats.failed);
  const afterStop = traffic.stats().requests;
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(traffic.stats().requests).toBe(afterStop);
});
