/**
 * A bounded fuzz test: random Mesh documents (both formats) and random CA certificates through
 * everything `ca-rotate validate` runs. Whatever the input, the findings are findings: never
 * "validation failed unexpectedly", never an exception. Fixed seeds and iteration counts, printed, so
 * a failure reproduces (FUZZ_SEED=<n> runs one seed).
 */
import { stringify } from 'yaml';
import { MemorySecretStore } from '../../../src/ca/memory-secret-store';
import { validateBackends } from '../../../src/ca/registry';
import type { Mesh, ValidationIssue } from '../../../src/mesh/schema';
import { validateDocuments } from '../../../src/mesh/validate';
import { sequence } from '../../../src/pki/der';
import { distinguishedName } from '../../../src/pki/extensions';
import { generalizedTime, keyOf, rawCa, utcTime } from '../pki/raw-certificate';
import { seededRandom as random } from '../../../bench/seeded-random';

const SEEDS = process.env.FUZZ_SEED ? [Number(process.env.FUZZ_SEED)] : [1, 20261129];
const MESH_ITERATIONS = 1000;
const CERTIFICATE_ITERATIONS = 150;

class Gen {
  constructor(readonly next: () => number) {}
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

const FIELDS = ['mtls', 'enabledBackend', 'backends', 'name', 'type', 'conf', 'dpCert', 'rotation', 'expiration', 'requestTimeout', 'rootChain', 'mode', 'skipValidation',
  'caCert', 'RSAbits', 'cert', 'key', 'secret', 'inline', 'inlineString', 'file', 'fromCp', 'address', 'pki', 'role', 'auth', 'token', 'tls', 'clientKey', 'clientCert', 'aws',
  'logging', 'tracing', 'metrics', 'defaultBackend', 'sampling', 'url', 'apiVersion', 'port', 'path', 'format', 'aggregate', 'envoy', 'filterRegex', 'skipMTLS',
  'constraints', 'dataplaneProxy', 'requirements', 'restrictions', 'tags', 'routing', 'zoneEgress', 'networking', 'outbound', 'passthrough', 'meshServices',
  'skipCreatingInitialPolicies', '', '__proto__', 'constructor', 'toString'];
const STRINGS = ['', 'builtin', 'provided', 'vault', 'tcp', 'file', 'zipkin', 'datadog', 'prometheus', 'ca-1', 'STRICT', 'PERMISSIVE', '24h', '1h30m', '0', '-1s', '300y',
  '2e', 'http://zipkin:9411/api', 'http://[::1', 'host:1:2', '[::1]:80', '(?P<x>a', 'a(?=b)', '*', 'µs', '%zz', 'kuma.io/zone', '!@#$', 'LS0tLQ==', '@@@', 'x'.repeat(300),
  '\u0000', 'NaN', 'Infinity', '1e400', '4294967296', 'activeMTLSBackend', 'Everywhere'];

function value(gen: Gen, depth: number): unknown {
  const kind = gen.int(depth > 3 ? 6 : 9);
  switch (kind) {
    case 0:
      return gen.pick(STRINGS);
    case 1:
      return gen.pick([0, 1, -1, 0.5, 100.1, 2048, 16384, 65536, 2 ** 53, -0, 1e300]);
    case 2:
      return gen.next() < 0.5;
    case 3:
      return null;
    case 4:
      return gen.pick(STRINGS) + gen.pick(STRINGS);
    case 5:
      return gen.int(1000).toString();
    case 6:
    case 7:
      return Object.fromEntries(Array.from({ length: gen.int(5) }, () => [gen.pick(FIELDS), value(gen, depth + 1)]));
    default:
      return Array.from({ length: gen.int(4) }, () => value(gen, depth + 1));
  }
}

/** A plausible Mesh with a few fields replaced by random values. */
function meshDocument(gen: Gen): string {
  const spec: Record<string, unknown> = {
    mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin', dpCert: { rotation: { expiration: '24h' } } }, { name: 'ca-2', type: gen.pick(['provided', 'vault']), conf: { cert: { secret: 's' }, key: { secret: 'k' }, fromCp: { pki: 'p', role: 'r' } } }] },
    logging: { backends: [{ name: 'l', type: 'tcp', conf: { address: 'a:1' } }] },
    tracing: { backends: [{ name: 't', type: 'zipkin', conf: { url: 'http://z:1' } }] },
    metrics: { backends: [{ name: 'm', type: 'prometheus', conf: { aggregate: [{ name: 'a' }] } }] },
    constraints: { dataplaneProxy: { requirements: [{ tags: { a: 'b' } }] } },
  };
  for (let changes = 1 + gen.int(4); changes > 0; changes--) mutate(spec, gen);
  const name = gen.next() < 0.8 ? 'default' : gen.pick(STRINGS);
  const document = gen.next() < 0.5 ? { type: 'Mesh', name, ...spec } : { apiVersion: 'kuma.io/v1alpha1', kind: 'Mesh', metadata: { name }, spec };
  const secret = gen.next() < 0.5 ? `---\ntype: Secret\nname: s\nmesh: default\ndata: ${gen.pick(['LS0tLQ==', '', '@@'])}\n` : '';
  return stringify(document) + secret;
}

function mutate(root: unknown, gen: Gen): void {
  let node = root;
  for (let depth = 0; depth < 6; depth++) {
    if (!node || typeof node !== 'object') return;
    const keys = Object.keys(node);
    const key = keys.length === 0 || gen.next() < 0.2 ? gen.pick(FIELDS) : gen.pick(keys);
    const child = (node as Record<string, unknown>)[key];
    if (gen.next() < 0.35 || !child || typeof child !== 'object') {
      (node as Record<string, unknown>)[key] = value(gen, depth);
      return;
    }
    node = child;
  }
}

const TIMES = () => [
  utcTime('200101000000Z'), utcTime('2001010000Z'), utcTime('200101000000+0130'), utcTime('990101000000Z'), utcTime('20010100000Z'), utcTime('xx'),
  generalizedTime('00010101000000Z'), generalizedTime('20500101000000.5Z'), generalizedTime('20500101000000+0130'), utcTime('200101000000+0000'), generalizedTime('99991231235959Z'), generalizedTime('20500230000000Z'), generalizedTime('2050010100'), generalizedTime(''),
];

function randomCertificatePem(gen: Gen, keys: ReturnType<typeof keyOf>[]): { cert: string; key: string } {
  const times = TIMES();
  const subject = gen.pick([sequence(), distinguishedName({ commonName: gen.pick(STRINGS).slice(0, 60) || 'x' }), distinguishedName({ commonName: 'a', organization: 'b' })]);
  const ca = rawCa({ key: gen.pick(keys), subject, notBefore: gen.pick(times), notAfter: gen.pick(times) });
  let der = ca.der;
  if (gen.next() < 0.4) {
    der = Buffer.from(der);
    for (let flips = 1 + gen.int(3); flips > 0; flips--) der[gen.int(der.length)] = gen.int(256);
  }
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;
  return { cert: gen.next() < 0.2 ? pem + pem : pem, key: gen.next() < 0.9 ? ca.privateKeyPem : gen.pick(STRINGS) };
}

function unexpected(issues: readonly ValidationIssue[]): ValidationIssue[] {
  return issues.filter((issue) => /failed unexpectedly/.test(issue.message));
}

describe.each(SEEDS)('validation never fails unexpectedly (seed %i)', (seed) => {
  it(`on ${MESH_ITERATIONS} random Mesh documents`, () => {
    console.log(`fuzz: seed ${seed}, ${MESH_ITERATIONS} Mesh documents`);
    const gen = new Gen(random(seed));
    for (let i = 0; i < MESH_ITERATIONS; i++) {
      const text = meshDocument(gen);
      let result;
      try {
        result = validateDocuments(text);
      } catch (error) {
        throw new Error(`iteration ${i} threw ${String(error)} on:\n${text}`);
      }
      const bad = unexpected([...result.errors, ...result.warnings]);
      if (bad.length > 0) throw new Error(`iteration ${i}: ${JSON.stringify(bad)} on:\n${text}`);
    }
  });

  it(`on ${CERTIFICATE_ITERATIONS} random CA certificates`, async () => {
    console.log(`fuzz: seed ${seed}, ${CERTIFICATE_ITERATIONS} certificates`);
    const gen = new Gen(random(seed));
    const keys = [keyOf('ecdsa-p256'), keyOf('ed25519'), keyOf('rsa-2048'), keyOf('rsa-1024'), keyOf('ecdsa-p384')];
    for (let i = 0; i < CERTIFICATE_ITERATIONS; i++) {
      const { cert, key } = randomCertificatePem(gen, keys);
      const mesh: Mesh = {
        type: 'Mesh',
        name: 'default',
        mtls: { enabledBackend: 'ca-2', skipValidation: gen.next() < 0.3, backends: [{ name: 'ca-2', type: 'provided', conf: { cert: { inlineString: cert }, key: { inlineString: key } } }] },
      };
      const result = await validateBackends(mesh, { mesh: 'default', secrets: new MemorySecretStore() });
      const bad = unexpected([...result.errors, ...result.warnings]);
      if (bad.length > 0) throw new Error(`iteration ${i}: ${JSON.stringify(bad)} on:\n${cert}`);
    }
  });
});
