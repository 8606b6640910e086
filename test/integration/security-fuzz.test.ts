/**
 * A bounded fuzz of the REST API: random methods, paths and bodies (mutations of valid documents)
 * against a real control plane. Never a 5xx, and never a change without a 2xx. Seeded: a failure
 * prints the seed and the request, so it can be replayed.
 */
import { generateCa } from '../../src/pki/ca-certificate';
import { ADMIN, meshWith, registration, startSecurityFixture, type SecurityFixture } from './security-support';
import { seededRandom as random } from '../../bench/seeded-random';

const REQUESTS = 400;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

describe('fuzzing the REST API', () => {
  let fx: SecurityFixture;
  let reader: string;
  let dataplane: string;
  let seeds: { body: unknown; path: string; method: string }[];

  beforeAll(async () => {
    fx = await startSecurityFixture();
    await fx.admin.putMesh(meshWith('default', 'ca-1', ['ca-1']));
    const ca = await generateCa({ commonName: 'fuzz CA' });
    reader = await fx.admin.issueToken({ role: 'reader', name: 'fuzz' });
    dataplane = await fx.admin.issueToken({ role: 'dataplane', name: 'fuzz', dataplane: { mesh: 'default', host: 'fz', namePrefix: 'fz-', services: ['web'] } });
    const reg = await registration('fz', [{ mesh: 'default', name: 'fz-1', service: 'web' }]);
    seeds = [
      { method: 'PUT', path: '/meshes/default', body: meshWith('default', 'ca-1', ['ca-1', 'ca-2']) },
      { method: 'PUT', path: '/meshes/other', body: { ...meshWith('other', 'p', []), mtls: { enabledBackend: 'p', backends: [{ name: 'p', type: 'provided', conf: { cert: { secret: 'c' }, key: { secret: 'k' } } }] } } },
      { method: 'PUT', path: '/meshes/default/secrets/s', body: { type: 'Secret', mesh: 'default', name: 's', data: Buffer.from(ca.certificatePem).toString('base64') } },
      { method: 'POST', path: '/dp/v1/proxies', body: reg },
      { method: 'POST', path: '/dp/v1/acks', body: { acks: [{ mesh: 'default', name: 'fz-1', version: 1, trustedRootFingerprints: [], certificateIssuerFingerprint: null }] } },
      { method: 'POST', path: '/tokens', body: { role: 'dataplane', name: 'x', dataplane: { mesh: 'default', host: 'h', names: ['a'], services: ['web'] } } },
      { method: 'POST', path: '/meshes/default/certificates/_reissue', body: { after: null, limit: 10 } },
      { method: 'DELETE', path: '/meshes/default/secrets/default.ca-builtin-key-ca-1', body: undefined },
      { method: 'DELETE', path: '/dp/v1/proxies/default/fz-1', body: undefined },
      { method: 'GET', path: '/meshes/default/dataplanes+insights?size=5&offset=0', body: undefined },
    ];
  });
  afterAll(() => fx.stop());

  test(`${REQUESTS} random requests: no 5xx, no change without a 2xx (seed ${SEED})`, async () => {
    const next = random(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    const oddValues: unknown[] = [null, true, -1, 0, 1e308, '', 'x'.repeat(5000), '%00', '../../etc/passwd', '\u0000\n\r', [], {}, [[[[]]]], { __proto__: { polluted: true } }, '😀'.repeat(50), 2 ** 53 + 1];
    const mutate = (value: unknown, depth = 0): unknown => {
      const roll = next();
      if (roll < 0.15 || depth > 6) return pick(oddValues);
      if (Array.isArray(value)) return roll < 0.3 ? [...value, ...value] : value.map((v) => (next() < 0.3 ? mutate(v, depth + 1) : v));
      if (value && typeof value === 'object') {
        const entries = Object.entries(value).filter(() => next() > 0.1);
        if (next() < 0.2) entries.push([pick(['type', 'name', 'mesh', 'mtls', 'host', 'role', 'version', 'constructor', 'extra']), pick(oddValues)]);
        return Object.fromEntries(entries.map(([k, v]) => [k, next() < 0.35 ? mutate(v, depth + 1) : v]));
      }
      return roll < 0.5 ? pick(oddValues) : value;
    };
    const oddSegments = ['%', '%E0%A4%A', '..', '%2e%2e', 'a'.repeat(300), 'UPPER', '-x', 'default', 'other', '%00', 'default%2Fsecrets', ''];
    const mutatePath = (path: string): string => {
      if (next() < 0.6) return path;
      const parts = path.split('/');
      parts[1 + Math.floor(next() * (parts.length - 1))] = pick(oddSegments);
      return parts.join('/');
    };
    let changes = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const seed = pick(seeds);
      const method = next() < 0.85 ? seed.method : pick(['GET', 'PUT', 'POST', 'DELETE', 'PATCH']);
      const path = mutatePath(seed.path);
      const token = pick([ADMIN, ADMIN, ADMIN, reader, dataplane, undefined, 'garbage']);
      const rawBody = seed.body === undefined ? undefined : next() < 0.1 ? pick(['{', 'null', '[]', '"x"', '{"a":']) : JSON.stringify(mutate(seed.body));
      const before = await fx.snapshot();
      const response = await fx.raw(method, path, { token, rawBody, headers: rawBody === undefined ? {} : { 'content-type': 'application/json' } });
      const what = `#${i} ${method} ${path} (seed ${SEED}) -> ${response.status} ${response.text.slice(0, 200)}`;
      expect([what, response.status < 500]).toEqual([what, true]);
      if (response.status >= 200 && response.status < 300) {
        changes++;
      } else {
        expect([what, await fx.snapshot()]).toEqual([what, before]);
      }
    }
    console.log(`fuzz seed ${SEED}: ${REQUESTS} requests, ${changes} accepted`);
  }, 600_000);
});
