/**
 * Differential test against the real Kuma 2.14.3 control plane: the same Mesh documents go to our
 * `validate` and to kuma-cp's `PUT /meshes/{name}`, and the verdicts must agree, except where we are
 * stricter on purpose (the message says so). Kuma OSS allows one mTLS backend and has no vault plugin,
 * so the documents keep to one builtin or provided backend.
 */
import { stringify } from 'yaml';
import { MemorySecretStore } from '../../src/ca/memory-secret-store';
import { validateBackends } from '../../src/ca/registry';
import type { ValidationIssue } from '../../src/mesh/schema';
import { validateDocuments } from '../../src/mesh/validate';
import { generateCa } from '../../src/pki/ca-certificate';
import { sequence } from '../../src/pki/der';
import { KeyUsageBit } from '../../src/pki/oids';
import { type RunningKumaCp, kumaMissing, startKumaCp } from '../harness/kuma';
import { describeWhenAvailable } from '../harness/requirements';
import { type RawCaOptions, generalizedTime, keyOf, rawCa, utcTime } from '../unit/pki/raw-certificate';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the cases reach into arbitrary fields to break them
type Doc = Record<string, any>;

const STRICTER = /stricter than Kuma on purpose/;

function base(): Doc {
  return { type: 'Mesh', name: 'default', mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin', dpCert: { rotation: { expiration: '24h' } }, conf: { caCert: { RSAbits: 2048 } } }] } };
}

const variants = <T>(values: readonly T[], change: (doc: Doc, value: T) => void): Doc[] =>
  values.map((value) => {
    const doc = base();
    change(doc, value);
    return doc;
  });

const DOCUMENTS: Doc[] = [
  base(),
  ...variants(['under_score', 'a.b', 'a'.repeat(63), 'a'.repeat(64), 'A', 'a-', 'a..b', '1'], (d, v) => (d.name = v)),
  ...variants(['1h30m', '0', '1w', '', null, '2e', '10ms', '1.5h', '+1h', '1H'], (d, v) => (d.mtls.backends[0].dpCert.rotation.expiration = v)),
  ...variants([{}, { requestTimeout: '1s' }, null, { rotation: {} }], (d, v) => (d.mtls.backends[0].dpCert = v)),
  ...variants(['1d', '-1s', '1h30m', '0.5s', '10', '1µs'], (d, v) => (d.mtls.backends[0].rootChain = { requestTimeout: v })),
  ...variants([2048, '2048', 0, 'x', -5, 3072.5, null], (d, v) => (d.mtls.backends[0].conf = { caCert: { RSAbits: v } })),
  ...variants(['1y', '1h30m', 5, ''], (d, v) => (d.mtls.backends[0].conf = { caCert: { expiration: v } })),
  ...variants(['ca.1', 'CA', 'a'.repeat(47), 'a'.repeat(48), 'ca_1', 'ca-', '_x', 'ca..1'], (d, v) => {
    d.mtls.backends[0].name = v;
    d.mtls.enabledBackend = v;
  }),
  ...variants(['STRICT', 'PERMISSIVE', 'LAX', 0, 7], (d, v) => (d.mtls.backends[0].mode = v)),
  ...variants(['http://z:9411/api', 'http://z/api', 'z:9411', '/api', 'http://[::1]:9411/', 'http://z:port/', 'http://ho st:1/', 'http://z:1/%zz', 'http:opaque', '*'], (d, url) => {
    d.tracing = { backends: [{ name: 't', type: 'zipkin', conf: { url } }] };
  }),
  ...variants(['a:1', ':1', 'a:', 'a', '[::1]:1', '[::1]', 'a:b:c', 'a]:1'], (d, address) => (d.logging = { backends: [{ name: 'l', type: 'tcp', conf: { address } }] })),
  ...variants(['^a', 'a(?=b)', '(?P<x>a)', '\\z', '(a)\\1', '[[:alpha:]]', '(?i)a', '(?i:a)', 'a**', 'x{1001}', '[a-'], (d, filterRegex) => {
    d.metrics = { backends: [{ name: 'p', type: 'prometheus', conf: { envoy: { filterRegex } } }] };
  }),
  ...variants([0, 100, 100.1, -1, '50', 'x'], (d, sampling) => (d.tracing = { backends: [{ name: 't', type: 'zipkin', sampling, conf: { url: 'http://z:1' } }] })),
  ...variants([0, 65535, 65536], (d, port) => (d.tracing = { backends: [{ name: 'd', type: 'datadog', conf: { address: 'dd', port } }] })),
  ...variants([{}, { a: '*' }, { 'kuma.io/zone': 'a/b' }, { 'a b': 'c' }, { a: '' }], (d, tags) => (d.constraints = { dataplaneProxy: { restrictions: [{ tags }] } })),
  ...variants([true, 'true'], (d, zoneEgress) => {
    delete d.mtls.enabledBackend;
    d.routing = { zoneEgress };
  }),
  ...variants(['Everywhere', 'Bogus', 4], (d, mode) => (d.meshServices = { mode })),
  ...variants([undefined, { cert: { secret: '' }, key: { inline: '' } }, { cert: { secret: 'a', file: 'b' }, key: { inline: '@@' } }, { cert: { file: '/nonexistent' }, key: { file: '/nonexistent' } }], (d, conf) => {
    d.mtls.backends[0] = { name: 'p', type: 'provided', conf };
    d.mtls.enabledBackend = 'p';
  }),
  ...variants([true], (d, skipValidation) => {
    d.mtls = { skipValidation, enabledBackend: 'p', backends: [{ name: 'p', type: 'provided' }] };
  }),
  ...variants([null, { enabledBackend: null }], (d, mtls) => (d.mtls = mtls)),
];

/** Provided CAs Kuma's ca_cert_validator and tls.X509KeyPair judge, as {cert, key} PEM. */
async function providedMaterials(): Promise<[string, { cert: string; key: string }][]> {
  const raw = (options: RawCaOptions): { cert: string; key: string } => {
    const ca = rawCa(options);
    return { cert: ca.certificatePem, key: ca.privateKeyPem };
  };
  const generated = async (options: Parameters<typeof generateCa>[0]) => {
    const ca = await generateCa(options);
    return { cert: ca.certificatePem, key: ca.privateKeyPem };
  };
  const root = await generateCa({ commonName: 'root' });
  const intermediate = await generateCa({ commonName: 'intermediate', issuer: root });
  return [
    ['ECDSA P-256', raw({})],
    ['ECDSA P-384', raw({ key: keyOf('ecdsa-p384') })],
    ['ECDSA P-521', raw({ key: keyOf('ecdsa-p521') })],
    ['Ed25519', raw({ key: keyOf('ed25519') })],
    ['RSA 2048', raw({ key: keyOf('rsa-2048') })],
    ['RSA 1024', raw({ key: keyOf('rsa-1024') })],
    ['an empty subject', raw({ subject: sequence() })],
    ['validity from year 0001 to 2050', raw({ notBefore: generalizedTime('00010101000000Z'), notAfter: generalizedTime('20500101000000Z') })],
    ['UTCTime without seconds and with an offset', raw({ notBefore: utcTime('2001010000+0130'), notAfter: utcTime('4901010000Z') })],
    ['GeneralizedTime with a fraction', raw({ notAfter: generalizedTime('20500101000000.5Z') })],
    ['GeneralizedTime with an offset', raw({ notAfter: generalizedTime('20500101000000-0130') })],
    ['a zero offset not written Z', raw({ notAfter: utcTime('400101000000+0000') })],
    ['a leap second', raw({ notAfter: utcTime('401231235960Z') })],
    ['GeneralizedTime without a zone', raw({ notAfter: generalizedTime('20500101000000') })],
    ['an expired CA', raw({ notBefore: utcTime('000101000000Z'), notAfter: utcTime('010101000000Z') })],
    ['a CA valid from 2060', raw({ notBefore: generalizedTime('20600101000000Z') })],
    ['not a CA', await generated({ commonName: 'x', isCa: false })],
    ['no keyCertSign', await generated({ commonName: 'x', keyUsageBits: [KeyUsageBit.digitalSignature] })],
    ['keyAgreement', await generated({ commonName: 'x', keyUsageBits: [KeyUsageBit.keyCertSign, KeyUsageBit.keyAgreement] })],
    ['a key of another CA', { cert: raw({}).cert, key: raw({}).key }],
    ['a chain closest first', { cert: intermediate.certificatePem + root.certificatePem, key: intermediate.privateKeyPem }],
    ['a chain in the wrong order', { cert: root.certificatePem + intermediate.certificatePem, key: root.privateKeyPem }],
    ['text that is not PEM', { cert: 'hello', key: 'world' }],
  ];
}

async function ourVerdict(doc: Doc): Promise<{ valid: boolean; errors: ValidationIssue[] }> {
  const checked = validateDocuments(stringify(doc));
  if (!checked.valid || !checked.mesh) return checked;
  const backends = await validateBackends(checked.mesh, { mesh: checked.mesh.name, secrets: new MemorySecretStore() });
  return { valid: backends.errors.length === 0, errors: backends.errors };
}

describeWhenAvailable('our validation agrees with kuma-cp 2.14.3', kumaMissing('kuma-cp'), () => {
  let kuma: RunningKumaCp;
  let url: string;

  beforeAll(async () => {
    kuma = await startKumaCp();
    url = kuma.url;
  }, 180_000);

  afterAll(async () => {
    await kuma?.stop();
  });

  /** Kuma's verdict: PUT, and remove what it accepted so the next document starts clean. */
  async function kumaVerdict(doc: Doc): Promise<{ valid: boolean; body: string }> {
    const at = `${url}/meshes/${encodeURIComponent(String(doc.name))}`;
    const response = await fetch(at, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
    const body = await response.text();
    if (response.ok) await fetch(at, { method: 'DELETE' });
    return { valid: response.ok, body };
  }

  it(`on ${DOCUMENTS.length} Mesh documents: the same verdict, or ours is stricter on purpose and says so`, async () => {
    const disagreements: string[] = [];
    for (const doc of DOCUMENTS) {
      const [ours, theirs] = [await ourVerdict(doc), await kumaVerdict(doc)];
      const deliberate = !ours.valid && theirs.valid && ours.errors.length > 0 && ours.errors.every((e) => STRICTER.test(e.message));
      if (ours.valid !== theirs.valid && !deliberate) {
        disagreements.push(`${JSON.stringify(doc)}\n  ours: ${ours.valid} ${JSON.stringify(ours.errors)}\n  kuma: ${theirs.valid} ${theirs.body.slice(0, 400)}`);
      }
    }
    expect(disagreements).toEqual([]);
  }, 600_000);

  it('on provided CAs of every key type, with odd names and dates, and broken ones', async () => {
    const disagreements: string[] = [];
    for (const [name, { cert, key }] of await providedMaterials()) {
      const doc = base();
      doc.mtls = { enabledBackend: 'p', backends: [{ name: 'p', type: 'provided', conf: { cert: { inlineString: cert }, key: { inlineString: key } } }] };
      const [ours, theirs] = [await ourVerdict(doc), await kumaVerdict(doc)];
      const deliberate = !ours.valid && theirs.valid && ours.errors.length > 0 && ours.errors.every((e) => STRICTER.test(e.message));
      if (ours.valid !== theirs.valid && !deliberate) disagreements.push(`${name}: ours ${ours.valid} ${JSON.stringify(ours.errors)}; kuma ${theirs.valid} ${theirs.body.slice(0, 300)}`);
    }
    expect(disagreements).toEqual([]);
  }, 300_000);
});
