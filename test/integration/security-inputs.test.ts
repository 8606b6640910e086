/**
 * Hostile inputs against a real control plane over HTTPS: each is refused with a 4xx whose causes
 * name the field, and the store is exactly as before (issue 11, item 3).
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProxyKey } from '../../src/dataplane/identity';
import { generateCa } from '../../src/pki/ca-certificate';
import { csrToPem, createCsr } from '../../src/pki/csr';
import { bitString, contextTag, oid, sequence, smallInteger, tlv } from '../../src/pki/der';
import { distinguishedName } from '../../src/pki/extensions';
import { subjectPublicKeyInfo } from '../../src/pki/keys';
import { ADMIN, causeFields, meshWith, registration, startSecurityFixture, type RawResponse, type SecurityFixture } from './security-support';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('hostile inputs change nothing', () => {
  let fx: SecurityFixture;
  /** Stands in for an attacker's "Vault": records every request it gets. */
  let trap: http.Server;
  const trapped: http.IncomingHttpHeaders[] = [];
  let trapUrl: string;

  beforeAll(async () => {
    trap = http.createServer((req, res) => {
      trapped.push(req.headers);
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    fx = await startSecurityFixture({ vault: { address: 'http://127.0.0.1:1', token: 'operator-vault-token' } });
    await fx.admin.putMesh(meshWith('default', 'ca-1', ['ca-1']));
    const provided = await generateCa({ commonName: 'provided CA' });
    await fx.admin.putSecret({ type: 'Secret', mesh: 'default', name: 'p-cert', data: b64(provided.certificatePem) });
    await fx.admin.putSecret({ type: 'Secret', mesh: 'default', name: 'p-key', data: b64(provided.privateKeyPem) });
    await fx.admin.putMesh({
      type: 'Mesh',
      name: 'default',
      mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }, { name: 'p', type: 'provided', conf: { cert: { secret: 'p-cert' }, key: { secret: 'p-key' } } }] },
    }, { force: true });
    expect((await fx.raw('POST', '/dp/v1/proxies', { token: ADMIN, body: await registration('h', [{ mesh: 'default', name: 'dp-1', service: 'web' }]) })).status).toBe(204);
  });
  afterAll(async () => {
    await fx.stop();
    await new Promise((resolve) => trap.close(resolve));
  });

  async function refused(response: Promise<RawResponse>, status: number, fields: string[]): Promise<RawResponse> {
    const before = await fx.snapshot();
    const answer = await response;
    expect({ status: answer.status, fields: causeFields(answer) }).toEqual({ status, fields });
    expect(await fx.snapshot()).toBe(before);
    return answer;
  }

  const currentBackends = () => [{ name: 'ca-1', type: 'builtin' }, { name: 'p', type: 'provided', conf: { cert: { secret: 'p-cert' }, key: { secret: 'p-key' } } }];
  const putMesh = (backends: unknown[], extra: Record<string, unknown> = {}) =>
    fx.raw('PUT', '/meshes/default?force=true', { token: ADMIN, body: { type: 'Mesh', name: 'default', mtls: { enabledBackend: 'ca-1', backends }, ...extra } });

  test('file: data sources are not read over the API (no host files, no /dev/zero)', async () => {
    await refused(putMesh([...currentBackends(), { name: 'f', type: 'provided', conf: { cert: { file: '/etc/passwd' }, key: { file: '/dev/zero' } } }]), 400, [
      'mtls.backends[2].conf.cert.file',
      'mtls.backends[2].conf.key.file',
    ]);
  });

  test('a vault backend never gets the operator Vault token sent to an address from the mesh; every auth variant is checked', async () => {
    const vault = (auth?: unknown) => ({ name: 'v', type: 'vault', conf: { fromCp: { address: trapUrl, pki: 'pki', role: 'r', ...(auth === undefined ? {} : { auth }) } } });
    await refused(putMesh([...currentBackends(), vault()]), 400, ['mtls.backends[2].conf.fromCp.auth']);
    await refused(putMesh([...currentBackends(), vault({ aws: {} })]), 400, ['mtls.backends[2].conf.fromCp.auth']);
    await refused(putMesh([...currentBackends(), vault({ token: { secret: 'p-key' }, tls: {} })]), 400, ['mtls.backends[2].conf.fromCp.auth']);
    await refused(putMesh([...currentBackends(), vault({ tls: { clientKey: { secret: 'p-key' } } })]), 400, ['mtls.backends[2].conf.fromCp.auth.tls.clientCert']);
    expect(trapped.filter((h) => JSON.stringify(h).includes('operator-vault-token'))).toEqual([]);
  });

  test('key material and tokens inline are refused; nothing secret is served, history included', async () => {
    await refused(putMesh([...currentBackends(), { name: 'i', type: 'provided', conf: { cert: { secret: 'p-cert' }, key: { inlineString: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' } } }]), 400, [
      'mtls.backends[2].conf.key.inlineString',
    ]);
    await refused(putMesh([...currentBackends(), { name: 'v', type: 'vault', conf: { fromCp: { address: trapUrl, pki: 'pki', role: 'r', auth: { token: { inline: b64('s.hunter2') } } } } }]), 400, [
      'mtls.backends[2].conf.fromCp.auth.token.inline',
    ]);
    for (const path of ['/meshes/default', '/meshes/default/_history', '/meshes', '/meshes/default/secrets']) {
      const text = (await fx.raw('GET', path, { token: ADMIN })).text;
      expect([path, /PRIVATE KEY|hunter2/.test(text)]).toEqual([path, false]);
    }
  });

  test('Secrets a backend depends on cannot be deleted, or replaced with data the backend cannot use', async () => {
    await refused(fx.raw('DELETE', '/meshes/default/secrets/default.ca-builtin-key-ca-1', { token: ADMIN }), 400, ['name']);
    await refused(fx.raw('PUT', '/meshes/default/secrets/default.ca-builtin-cert-ca-1', { token: ADMIN, body: { type: 'Secret', mesh: 'default', name: 'default.ca-builtin-cert-ca-1', data: b64('x') } }), 400, ['name']);
    await refused(fx.raw('DELETE', '/meshes/default/secrets/p-key', { token: ADMIN }), 400, ['name']);
    const other = await generateCa({ commonName: 'unrelated CA' });
    await refused(fx.raw('PUT', '/meshes/default/secrets/p-key', { token: ADMIN, body: { type: 'Secret', mesh: 'default', name: 'p-key', data: b64(other.privateKeyPem) } }), 400, ['data']);
  });

  test('a backend whose stored CA was spoiled while unused is refused (400 naming it), not a 500', async () => {
    expect((await putMesh([...currentBackends(), { name: 'tmp', type: 'builtin' }])).status).toBe(200);
    expect((await putMesh(currentBackends())).status).toBe(200);
    // No longer used by a backend: deleting half of its stored CA is allowed.
    expect((await fx.raw('DELETE', '/meshes/default/secrets/default.ca-builtin-key-tmp', { token: ADMIN })).status).toBe(200);
    await refused(putMesh([...currentBackends(), { name: 'tmp', type: 'builtin' }]), 400, ['mtls.backends[2]']);
  });

  test('CSRs are parsed and verified at registration: garbage, a bad signature, SHA-1 and weak keys are refused with the proxy\'s path', async () => {
    const good = await registration('h', [{ mesh: 'default', name: 'dp-2', service: 'web' }]);
    const withCsr = (csr: string) => ({ ...good, proxies: [{ ...good.proxies[0], csr }] });
    const pem = good.proxies[0]?.csr as string;
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const tampered = Buffer.from(der);
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] as number) ^ 0xff;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const info = sequence(smallInteger(0), distinguishedName({ commonName: 'dp-2' }), subjectPublicKeyInfo(ec), tlv(contextTag(0, true), Buffer.alloc(0)));
    const sha1 = sequence(info, sequence(oid('1.2.840.10045.4.1')), bitString(sign('sha1', info, ec)));
    const weak = createCsr(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
    for (const csr of ['-----BEGIN CERTIFICATE REQUEST-----\nnot base64 at all\n-----END CERTIFICATE REQUEST-----', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----', csrToPem(tampered), csrToPem(sha1), csrToPem(weak)]) {
      await refused(fx.raw('POST', '/dp/v1/proxies', { token: ADMIN, body: withCsr(csr) }), 400, ['proxies[0].csr']);
    }
  });

  test('an ack confirms only what was sent: a version above the last one delivered is refused', async () => {
    await refused(
      fx.raw('POST', '/dp/v1/acks', { token: ADMIN, body: { acks: [{ mesh: 'default', name: 'dp-1', version: 1_000_000, trustedRootFingerprints: [], certificateIssuerFingerprint: null }] } }),
      400,
      ['acks[0].version'],
    );
  });

  test('sizes: tags, addresses, documents, backends, nesting; malformed paths and Host headers are 400s', async () => {
    const base = await registration('h', [{ mesh: 'default', name: 'dp-3', service: 'web', key: await ProxyKey.generate() }]);
    const proxy = base.proxies[0] as (typeof base.proxies)[number];
    const manyTags = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`t${i}`, 'v']));
    await refused(fx.raw('POST', '/dp/v1/proxies', { token: ADMIN, body: { ...base, proxies: [{ ...proxy, tags: { ...manyTags, 'kuma.io/service': 'web' } }] } }), 400, ['proxies[0].tags']);
    // A tag value with a line break would forge log lines and SANs.
    await refused(fx.raw('POST', '/dp/v1/proxies', { token: ADMIN, body: { ...base, proxies: [{ ...proxy, tags: { 'kuma.io/service': 'web\nFORGED line' } }] } }), 400, ['proxies[0].tags.kuma.io/service']);
    await refused(fx.raw('POST', '/dp/v1/proxies', { token: ADMIN, body: { ...base, proxies: [{ ...proxy, address: 'a'.repeat(300) }] } }), 400, ['proxies[0].address']);
    await refused(putMesh(currentBackends(), { padding: 'x'.repeat(2 * 1024 * 1024) }), 413, ['(body)']);
    await refused(putMesh(Array.from({ length: 17 }, (_, i) => ({ name: `ca-${i + 1}`, type: 'builtin' }))), 400, ['mtls.backends']);
    await refused(fx.raw('PUT', '/meshes/default', { token: ADMIN, rawBody: `${'['.repeat(100)}${']'.repeat(100)}` }), 400, ['(body)']);
    await refused(fx.raw('GET', '/meshes/%E0%A4%A', { token: ADMIN }), 400, ['path']);
    await refused(fx.raw('GET', '/meshes/default', { token: ADMIN, headers: { host: 'bad host\\name' } }), 400, ['Host']);
  });

  test('lifetimes too short to work are refused', async () => {
    await refused(putMesh([...currentBackends(), { name: 'short', type: 'builtin', dpCert: { rotation: { expiration: '1s' } } }]), 400, ['mtls.backends[2].dpCert.rotation.expiration']);
    await refused(putMesh([...currentBackends(), { name: 'short', type: 'builtin', conf: { caCert: { expiration: '1m' } } }]), 400, ['mtls.backends[2].conf.caCert.expiration']);
  });
});
