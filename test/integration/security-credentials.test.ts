/**
 * Credentials by role against a real control plane: what a reader, a worker and a data plane
 * credential may do, and that every refusal (401/403 naming the field) leaves the store unchanged.
 */
import { statSync } from 'node:fs';
import { revokedTokensFileFor } from '../../src/controlplane/server';
import { ProxyKey } from '../../src/dataplane/identity';
import { ADMIN, causeFields, meshWith, registration, startSecurityFixture, type SecurityFixture } from './security-support';

describe('credentials by role', () => {
  let fx: SecurityFixture;
  let reader: string;
  let worker: string;
  let dataplane: string;
  let otherHost: string;

  beforeAll(async () => {
    fx = await startSecurityFixture();
    await fx.admin.putMesh(meshWith('default', 'ca-1', ['ca-1']));
    await fx.admin.putMesh(meshWith('other', 'ca-1', ['ca-1']));
    await fx.admin.putSecret({ type: 'Secret', mesh: 'default', name: 'api-key', data: Buffer.from('hello').toString('base64') });
    reader = await fx.admin.issueToken({ role: 'reader', name: 'ops' });
    worker = await fx.admin.issueToken({ role: 'worker', name: 'rotator' });
    dataplane = await fx.admin.issueToken({ role: 'dataplane', name: 'host-a', dataplane: { mesh: 'default', host: 'host-a', namePrefix: 'a-', services: ['web'] } });
    otherHost = await fx.admin.issueToken({ role: 'dataplane', name: 'host-b', dataplane: { mesh: 'default', host: 'host-b', namePrefix: 'b-', services: ['web'] } });
    expect((await fx.raw('POST', '/dp/v1/proxies', { token: dataplane, body: await registration('host-a', [{ mesh: 'default', name: 'a-1', service: 'web' }]) })).status).toBe(204);
  });
  afterAll(() => fx.stop());

  test('GET / is public with Kuma fields and no secrets; every other read needs a credential', async () => {
    const index = await fx.raw('GET', '/');
    expect(index.status).toBe(200);
    expect(index.body).toMatchObject({ tagline: 'Kuma', product: 'Kuma' });
    expect(index.text).not.toContain(ADMIN);
    for (const path of ['/meshes', '/meshes/default', '/meshes/default/_history', '/mesh-insights/default', '/meshes/default/secrets', '/meshes/default/dataplanes']) {
      expect([path, (await fx.raw('GET', path)).status]).toEqual([path, 401]);
      expect([path, (await fx.raw('GET', path, { token: 'cart1.e30.forged' })).status]).toEqual([path, 401]);
      expect([path, (await fx.raw('GET', path, { token: reader })).status]).toEqual([path, 200]);
    }
  });

  test('a reader reads but never Secret data, and writes nothing', async () => {
    const before = await fx.snapshot();
    const secret = await fx.raw('GET', '/meshes/default/secrets/api-key', { token: reader });
    expect(secret.status).toBe(403);
    expect(causeFields(secret)).toEqual(['Authorization']);
    expect((await fx.raw('PUT', '/meshes/default', { token: reader, body: meshWith('default', 'ca-1', ['ca-1', 'ca-2']) })).status).toBe(403);
    expect((await fx.raw('DELETE', '/meshes/other', { token: reader })).status).toBe(403);
    expect((await fx.raw('POST', '/tokens', { token: reader, body: { role: 'worker', name: 'x' } })).status).toBe(403);
    expect(await fx.snapshot()).toBe(before);
  });

  test('a worker gets what the rotation uses: unforced mesh writes recorded under its own name, no forced edit, no Secret write, no mesh delete', async () => {
    const before = await fx.snapshot();
    expect((await fx.raw('PUT', '/meshes/default?force=true', { token: worker, body: meshWith('default', 'ca-1', ['ca-1', 'ca-2']) })).status).toBe(403);
    expect((await fx.raw('PUT', '/meshes/default/secrets/x', { token: worker, body: { type: 'Secret', mesh: 'default', name: 'x', data: 'aGk=' } })).status).toBe(403);
    expect((await fx.raw('DELETE', '/meshes/other', { token: worker })).status).toBe(403);
    expect((await fx.raw('POST', '/dp/v1/acks', { token: worker, body: { acks: [] } })).status).toBe(403);
    expect(await fx.snapshot()).toBe(before);

    const written = await fx.raw('PUT', '/meshes/other', { token: worker, body: meshWith('other', 'ca-1', ['ca-1', 'ca-2']), headers: { 'x-ca-rotate-actor': 'admin' } });
    expect(written.status).toBe(200);
    // The actor is the credential; a caller's label only follows it.
    expect((await fx.admin.meshHistory('other')).at(-1)?.actor).toBe('worker:rotator: admin');
    expect((await fx.raw('GET', '/meshes/default/secrets/api-key', { token: worker })).status).toBe(200);
  });

  test('a data plane credential reaches only its own host, proxies and services', async () => {
    const before = await fx.snapshot();
    const refusals: [string, Promise<{ status: number; body: Record<string, unknown> }>, number, string[]][] = [
      ['mesh read', fx.raw('GET', '/meshes/default', { token: dataplane }), 403, ['Authorization']],
      ['secret read', fx.raw('GET', '/meshes/default/secrets/api-key', { token: dataplane }), 403, ['Authorization']],
      ['mesh write', fx.raw('PUT', '/meshes/default', { token: dataplane, body: meshWith('default', 'ca-1', ['ca-1']) }), 403, ['Authorization']],
      ['token minting', fx.raw('POST', '/tokens', { token: dataplane, body: { role: 'worker', name: 'x' } }), 403, ['Authorization']],
      ['another host', fx.raw('POST', '/dp/v1/proxies', { token: dataplane, body: await registration('host-b', [{ mesh: 'default', name: 'a-2', service: 'web' }]) }), 403, ['host']],
      ['another name', fx.raw('POST', '/dp/v1/proxies', { token: dataplane, body: await registration('host-a', [{ mesh: 'default', name: 'b-1', service: 'web' }]) }), 403, ['proxies[0].name']],
      [
        'another service',
        fx.raw('POST', '/dp/v1/proxies', { token: dataplane, body: await registration('host-a', [{ mesh: 'default', name: 'a-2', service: 'payments' }]) }),
        403,
        ['proxies[0].tags.kuma.io/service'],
      ],
      ['another mesh', fx.raw('POST', '/dp/v1/proxies', { token: dataplane, body: await registration('host-a', [{ mesh: 'other', name: 'a-2', service: 'web' }]) }), 403, ['proxies[0].name']],
      ['another stream', fx.raw('GET', '/dp/v1/stream?host=host-b', { token: dataplane }), 403, ['host']],
      [
        'acks for another proxy',
        fx.raw('POST', '/dp/v1/acks', { token: dataplane, body: { acks: [{ mesh: 'default', name: 'b-1', version: 1, trustedRootFingerprints: [], certificateIssuerFingerprint: null }] } }),
        403,
        ['acks[0].name'],
      ],
      ['deregistering another proxy', fx.raw('DELETE', '/dp/v1/proxies/default/b-1', { token: dataplane }), 403, ['name']],
      // host-b's credential covers names b-*, but a-1 was registered by host-a: no takeover either way.
      ['taking over a registered proxy', fx.raw('DELETE', '/dp/v1/proxies/default/a-1', { token: otherHost }), 403, ['name']],
    ];
    for (const [what, pending, status, fields] of refusals) {
      const response = await pending;
      expect({ what, status: response.status, fields: causeFields(response as never) }).toEqual({ what, status, fields });
    }
    expect(await fx.snapshot()).toBe(before);
  });

  test('a proxy registered by one host cannot be re-registered by another host whose binding names it', async () => {
    const shared = await fx.admin.issueToken({ role: 'dataplane', name: 'host-c', dataplane: { mesh: 'default', host: 'host-c', names: ['a-1'], services: ['web'] } });
    const before = await fx.snapshot();
    const takeover = await fx.raw('POST', '/dp/v1/proxies', { token: shared, body: await registration('host-c', [{ mesh: 'default', name: 'a-1', service: 'web', key: await ProxyKey.generate() }]) });
    expect(takeover.status).toBe(403);
    expect(causeFields(takeover)).toEqual(['proxies[0].name']);
    expect(await fx.snapshot()).toBe(before);
  });

  test('an expired or tampered token is refused', async () => {
    const [prefix, payload, mac] = dataplane.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { dataplane: { host: string } };
    claims.dataplane.host = 'host-b';
    const tampered = `${prefix}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${mac}`;
    expect((await fx.raw('GET', '/dp/v1/stream?host=host-b', { token: tampered })).status).toBe(401);
    const refused = await fx.raw('POST', '/tokens', { token: ADMIN, body: { role: 'reader', name: 'short', validForSeconds: 1 } });
    expect(refused.status).toBe(400);
    expect(causeFields(refused)).toEqual(['validForSeconds']);
  });

  test('an admin revokes one token by its id: refused at once and after a restart, the stream it opened closed, other tokens unaffected', async () => {
    const leaked = await fx.admin.issueTokenWithId({ role: 'worker', name: 'leaked' });
    const kept = await fx.admin.issueToken({ role: 'worker', name: 'kept' });
    const host = await fx.admin.issueTokenWithId({ role: 'dataplane', name: 'host-d', dataplane: { mesh: 'default', host: 'host-d', namePrefix: 'd-', services: ['web'] } });
    expect((await fx.raw('POST', '/dp/v1/proxies', { token: host.token, body: await registration('host-d', [{ mesh: 'default', name: 'd-1', service: 'web' }]) })).status).toBe(204);
    const stream = fx.raw('GET', '/dp/v1/stream?host=host-d', { token: host.token });
    const online = async () => (await fx.admin.listDataplaneInsights('default')).find((p) => p.name === 'd-1')?.online;
    for (let waited = 0; !(await online()); waited += 100) {
      if (waited > 30_000) throw new Error('the stream of host-d never opened');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Only an admin revokes, and only a token id.
    expect((await fx.raw('DELETE', `/tokens/${leaked.id}`, { token: kept })).status).toBe(403);
    const malformed = await fx.raw('DELETE', '/tokens/not-a-token-id', { token: ADMIN });
    expect([malformed.status, causeFields(malformed)]).toEqual([400, ['id']]);
    expect((await fx.raw('GET', '/meshes/default', { token: leaked.token })).status).toBe(200);

    expect((await fx.raw('DELETE', `/tokens/${leaked.id}`, { token: ADMIN })).status).toBe(200);
    expect((await fx.raw('DELETE', `/tokens/${host.id}`, { token: ADMIN })).status).toBe(200);
    expect((await fx.raw('GET', '/meshes/default', { token: leaked.token })).status).toBe(401);
    expect((await fx.raw('GET', '/meshes/default', { token: kept })).status).toBe(200);
    // The stream opened before the revocation ends (200: it had been served), and cannot be opened again.
    expect((await stream).status).toBe(200);
    expect((await fx.raw('GET', '/dp/v1/stream?host=host-d', { token: host.token })).status).toBe(401);

    await fx.restart();
    expect((await fx.raw('GET', '/meshes/default', { token: leaked.token })).status).toBe(401);
    expect((await fx.raw('GET', '/meshes/default', { token: kept })).status).toBe(200);
    expect(statSync(revokedTokensFileFor(fx.dbFile)).mode & 0o777).toBe(0o600);
  });
});
