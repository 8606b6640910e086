/**
 * A proxy acks a config only once it is swapped in: no handshake begun under an older config (as
 * client or as server) is still running. Such a handshake still presents the old certificate or
 * verifies with the old bundle; on a starved machine it can outlive two rotation steps, and acking
 * before it ends let the gates move on while the proxy still used the old trust (issue 12's root cause).
 */
import net from 'node:net';
import tls from 'node:tls';
import { MtlsConnection } from '../../../src/dataplane/mtls-client';
import { MtlsListener } from '../../../src/dataplane/mtls-server';
import { DataplaneProxy } from '../../../src/dataplane/proxy';
import { configFor, createTestCa, type TestCa } from './test-pki';

let caOne: TestCa;
let caTwo: TestCa;
const closers: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  [caOne, caTwo] = await Promise.all([createTestCa('ca-1'), createTestCa('ca-2')]);
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function newProxy(name: string, port = 1): Promise<DataplaneProxy> {
  return DataplaneProxy.create({ mesh: 'default', name, service: name, address: '127.0.0.1', port, serverName: `${name}.test` });
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('as a client: a new config is swapped in only when the handshake begun under the old one has ended', async () => {
  // A peer that accepts the connection and never answers: the handshake stays in flight.
  const stalled = new Set<net.Socket>();
  const port = await listen(net.createServer((socket) => stalled.add(socket)));
  const caller = await newProxy('caller');
  caller.applyConfig(await configFor(caller, [caOne], caOne));
  expect(caller.swappedIn).toBe(true);

  const handshake = MtlsConnection.open(caller, { port, serverName: 'peer.test', expectedSpiffeId: 'spiffe://default/peer' }, 30_000).catch((error: Error) => error.message);
  await until(() => stalled.size === 1, 'the connection to reach the peer');
  caller.applyConfig(await configFor(caller, [caOne, caTwo], caTwo));
  const swapped: string[] = [];
  caller.whenSwappedIn(() => swapped.push('swapped in'));
  expect(caller.swappedIn).toBe(false);
  expect(swapped).toEqual([]);

  for (const socket of stalled) socket.destroy();
  expect(await handshake).not.toBe('ok');
  expect(swapped).toEqual(['swapped in']);
  expect(caller.swappedIn).toBe(true);
});

test('as a server: a new config is swapped in only when the handshake begun under the old one has ended', async () => {
  const server = await newProxy('server');
  server.applyConfig(await configFor(server, [caOne], caOne));
  const listener = new MtlsListener((name) => (name === 'server.test' ? server : undefined));
  const listenerPort = await listener.listen();
  closers.push(() => listener.close());

  // A relay that passes the client's bytes on but holds the server's answer until released:
  // the server has chosen its context (SNI) and waits for the client's next flight.
  let holding = true;
  let answered = false;
  const held: { client: net.Socket; chunk: Buffer }[] = [];
  const relayPort = await listen(
    net.createServer((client) => {
      const upstream = net.connect(listenerPort, '127.0.0.1');
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk: Buffer) => {
        answered = true;
        if (holding) held.push({ client, chunk });
        else client.write(chunk);
      });
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      closers.push(() => {
        client.destroy();
        upstream.destroy();
      });
    }),
  );
  const releaseHeld = () => {
    holding = false;
    for (const { client, chunk } of held.splice(0)) client.write(chunk);
  };

  const client = tls.connect({ port: relayPort, host: '127.0.0.1', servername: 'server.test', rejectUnauthorized: false });
  client.on('error', () => undefined);
  closers.push(() => void client.destroy());
  const connected = new Promise<void>((resolve) => client.once('secureConnect', () => resolve()));
  await until(() => answered, 'the server to answer the client hello');

  server.applyConfig(await configFor(server, [caOne, caTwo], caTwo));
  const swapped: string[] = [];
  server.whenSwappedIn(() => swapped.push('swapped in'));
  expect(server.swappedIn).toBe(false);

  releaseHeld();
  await connected;
  await until(() => swapped.length > 0, 'the server-side handshake to end');
  expect(swapped).toEqual(['swapped in']);
  expect(server.swappedIn).toBe(true);
});

test('a config re-sent unchanged under a new version is swapped in at once, even with handshakes in flight', async () => {
  const proxy = await newProxy('resent');
  const config = await configFor(proxy, [caOne], caOne);
  proxy.applyConfig(config);
  const handshake = proxy.beginHandshake();
  proxy.applyConfig({ ...config, version: config.version + 100 });
  expect(proxy.swappedIn).toBe(true);
  handshake?.end();
});
