/** The small pieces of the proxy agent: key and CSR, SAN parsing, SSE framing, ack batching. */
import { inspect } from 'node:util';
import { AckBatcher } from '../../../src/dataplane/ack-batcher';
import type { ProxyAckMessage } from '../../../src/mesh/dataplane-api';
import { ProxyKey } from '../../../src/dataplane/identity';
import { SseParser } from '../../../src/dataplane/sse-client';
import { uriSubjectAltNames } from '../../../src/dataplane/spiffe';
import { issueFromCsr, createTestCa } from './test-pki';

describe('ProxyKey', () => {
  test.each(['ecdsa-p256', 'rsa-2048'] as const)('creates a %s CSR that a CA accepts, for its own public key', async (type) => {
    const key = await ProxyKey.generate(type);
    const csr = key.createCsrPem('web-1');
    expect(csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    const ca = await createTestCa('ca-csr');
    const certificate = new (await import('node:crypto')).X509Certificate(await issueFromCsr(ca, csr, ['spiffe://default/web']));
    expect(certificate.publicKey.equals(key.publicKey)).toBe(true);
    expect(certificate.subject).toContain('CN=web-1');
  });

  test('never prints its private key', async () => {
    const key = await ProxyKey.generate();
    const printed = [JSON.stringify({ key }), inspect(key), inspect({ key }, { depth: 5, showHidden: true }), String(Object.keys(key))].join('\n');
    expect(printed).not.toContain('PRIVATE KEY');
    expect(key.tlsKeyPem()).toContain('PRIVATE KEY');
  });
});

describe('uriSubjectAltNames', () => {
  test('reads URI entries between other kinds', () => {
    expect(uriSubjectAltNames('DNS:a.example, URI:spiffe://default/web, URI:kuma://kuma.io/service/web, IP Address:127.0.0.1')).toEqual([
      'spiffe://default/web',
      'kuma://kuma.io/service/web',
    ]);
  });

  test('a quoted value with a comma stays one entry and cannot forge a second one', () => {
    expect(uriSubjectAltNames('URI:"spiffe://evil/x, URI:spiffe://default/web"')).toEqual(['spiffe://evil/x, URI:spiffe://default/web']);
  });

  test('nothing in, nothing out', () => {
    expect(uriSubjectAltNames(undefined)).toEqual([]);
    expect(uriSubjectAltNames('DNS:only.example')).toEqual([]);
  });
});

describe('SseParser', () => {
  test('joins data lines, splits events on blank lines across chunk boundaries, skips comments', () => {
    const events: string[] = [];
    const parser = new SseParser((data) => events.push(data));
    parser.push(': keep-alive\n\ndata: {"a":');
    parser.push('1}\n\r\nevent: config\ndata: line one\ndata: line two\n');
    expect(events).toEqual(['{"a":1}']);
    parser.push('\n');
    expect(events).toEqual(['{"a":1}', 'line one\nline two']);
  });
});

describe('AckBatcher', () => {
  const ack = (name: string, version: number): ProxyAckMessage => ({
    mesh: 'default',
    name,
    version,
    trustedRootFingerprints: ['a'.repeat(64)],
    certificateIssuerFingerprint: null,
  });

  test('sends many acks in one batch, keeping only the newest ack per proxy', async () => {
    const sent: ProxyAckMessage[][] = [];
    const delivered: string[] = [];
    const batcher = new AckBatcher({
      send: async (acks) => void sent.push(acks),
      onDelivered: (acks) => delivered.push(...acks.map((a) => `${a.name}@${a.version}`)),
      intervalMs: 20,
    });
    batcher.enqueue(ack('p1', 1));
    batcher.enqueue(ack('p2', 1));
    batcher.enqueue(ack('p1', 2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sent).toHaveLength(1);
    expect(delivered.sort()).toEqual(['p1@2', 'p2@1']);
    batcher.stop();
  });

  test('retries a failed batch, unless a newer ack of the same proxy replaced it', async () => {
    const attempts: string[][] = [];
    let failNext = true;
    const batcher = new AckBatcher({
      send: async (acks) => {
        attempts.push(acks.map((a) => `${a.name}@${a.version}`));
        if (failNext) {
          failNext = false;
          batcher.enqueue(ack('p1', 2));
          throw new Error('control plane down');
        }
      },
      onDelivered: () => undefined,
      intervalMs: 10,
    });
    batcher.enqueue(ack('p1', 1));
    batcher.enqueue(ack('p2', 1));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toEqual(['p1@1', 'p2@1']);
    expect(attempts[1]?.sort()).toEqual(['p1@2', 'p2@1']);
    batcher.stop();
  });
});
