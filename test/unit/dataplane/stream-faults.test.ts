/**
 * The proxies' control plane stream under faults, as Envoy's xDS stream behaves: a refused or dropped
 * stream is retried with exponential backoff (never in a tight loop), a drill can hold it down, and
 * every (re)connect registers the proxies again first.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseSubscription } from '../../../src/dataplane/sse-client';

let server: http.Server;
let url: string;
let answer: 'refuse' | 'stream' = 'refuse';
const attempts: number[] = [];
const open = new Set<http.ServerResponse>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    attempts.push(Date.now());
    if (answer === 'refuse') {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: hello\n\n');
    open.add(res);
    res.on('close', () => open.delete(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dp/v1/stream`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  attempts.length = 0;
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a control plane that refuses the stream is retried with growing delays, not in a tight loop', async () => {
  answer = 'refuse';
  let registrations = 0;
  const subscription = new SseSubscription({ url, headers: {}, beforeConnect: async () => void registrations++, onEvent: () => undefined, initialBackoffMs: 100, maxBackoffMs: 1_600 });
  await until(() => attempts.length >= 5, 'five attempts');
  await subscription.close();
  // Waits of 100, 200, 400, 800 ms (jitter -20 % at most) lie between the first and the fifth attempt;
  // a busy machine only stretches them.
  expect((attempts[4] ?? 0) - (attempts[0] ?? 0)).toBeGreaterThanOrEqual(0.8 * (100 + 200 + 400 + 800));
  expect(registrations).toBe(attempts.length);
});

test('a dropped stream held down by a drill stays down, then reconnects and registers again', async () => {
  answer = 'stream';
  const events: string[] = [];
  let registrations = 0;
  const subscription = new SseSubscription({ url, headers: {}, beforeConnect: async () => void registrations++, onEvent: (data) => events.push(data), initialBackoffMs: 50 });
  await until(() => events.length === 1, 'the first event');
  subscription.interrupt(60_000);
  await until(() => open.size === 0, 'the stream to close at the server');
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(attempts).toHaveLength(1);
  subscription.resume();
  await until(() => events.length === 2, 'the stream to come back');
  expect(attempts).toHaveLength(2);
  expect(registrations).toBe(2);
  await subscription.close();
});
