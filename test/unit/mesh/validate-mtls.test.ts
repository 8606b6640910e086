/**
 * Our rules beyond Kuma's tables: Kuma's duration grammars, field types as Kuma's decoder reads them,
 * the two deliberately stricter rules, `mtls.skipValidation`, and the vault defaults, in both formats.
 */
import { BuiltinConfSchema, checkBuiltinBackend } from '../../../src/mesh/backends';
import { validateDocuments } from '../../../src/mesh/validate';
import { Issues } from '../../../src/mesh/validate-issues';
import { FORMATS, type Expected, expectIssues, meshDocument, staticErrors, yaml } from './validate-support';

const backendsSpec = (backends: string, enabled = ''): string => `mtls:\n${enabled ? `  enabledBackend: ${enabled}\n` : ''}  backends:\n${yaml(backends).replace(/^/gm, '  ')}`;
const STRICTER = 'stricter than Kuma on purpose';

describe.each(FORMATS)('mtls backends (%s)', (format) => {
  it.each([
    ['1h30m: Kuma takes one number and one unit', '1h30m', [['mtls.backends[0].dpCert.rotation.expiration', 'has to be a valid format']]],
    ['0.5h: no fractions', '0.5h', [['mtls.backends[0].dpCert.rotation.expiration', 'has to be a valid format']]],
    ['10us: no microseconds', '10us', [['mtls.backends[0].dpCert.rotation.expiration', 'has to be a valid format']]],
    ['0: no lifetime', '0', [['mtls.backends[0].dpCert.rotation.expiration', STRICTER]]],
    ['0s: no lifetime', '0s', [['mtls.backends[0].dpCert.rotation.expiration', STRICTER]]],
    ['300y: wraps around in Go', '300y', [['mtls.backends[0].dpCert.rotation.expiration', STRICTER]]],
    ['2w: weeks are fine', '2w', []],
    ['250ms', '250ms', []],
    ['10y', '10y', []],
  ] as [string, string, Expected][])('dpCert.rotation.expiration %s', (_name, expiration, expected) => {
    expectIssues(staticErrors(format, backendsSpec(`- name: ca-1\n  type: builtin\n  dpCert:\n    rotation:\n      expiration: "${expiration}"`)), expected);
  });

  it('refuses a dpCert without rotation.expiration, as Kuma does', () => {
    expectIssues(staticErrors(format, backendsSpec('- name: ca-1\n  type: builtin\n  dpCert:\n    requestTimeout: 10s')), [['mtls.backends[0].dpCert.rotation.expiration', 'has to be a valid format']]);
  });

  it.each([
    ['1h30m', []],
    ['0.5s', []],
    ['250µs', []],
    ['1d', [['mtls.backends[0].rootChain.requestTimeout', 'is not a duration']]],
    ['10', [['mtls.backends[0].rootChain.requestTimeout', 'is not a duration']]],
  ] as [string, Expected][])('rootChain.requestTimeout %s is read as Go reads a protobuf Duration', (timeout, expected) => {
    expectIssues(staticErrors(format, backendsSpec(`- name: ca-1\n  type: builtin\n  rootChain:\n    requestTimeout: "${timeout}"`)), expected);
  });

  it.each([
    ['RSAbits 1024', 'RSAbits: 1024', [['mtls.backends[0].conf.caCert.RSAbits', STRICTER]]],
    ['RSAbits 16385', 'RSAbits: 16385', [['mtls.backends[0].conf.caCert.RSAbits', 'more than OpenSSL can generate']]],
    ['RSAbits 16384', 'RSAbits: 16384', []],
    ['RSAbits quoted, as protobuf JSON allows', 'RSAbits: "4096"', []],
    ['RSAbits that is not a number', 'RSAbits: many', [['mtls.backends[0].conf.caCert.RSAbits', 'must be a whole number']]],
    ['RSAbits negative', 'RSAbits: -1', [['mtls.backends[0].conf.caCert.RSAbits', 'must be a whole number']]],
    ['expiration 1h30m', 'expiration: 1h30m', [['mtls.backends[0].conf.caCert.expiration', 'has to be a valid format']]],
    ['expiration a number', 'expiration: 5', [['mtls.backends[0].conf.caCert.expiration', 'expected string']]],
  ] as [string, string, Expected][])('builtin caCert %s', (_name, field, expected) => {
    expectIssues(staticErrors(format, backendsSpec(`- name: ca-1\n  type: builtin\n  conf:\n    caCert:\n      ${field}`)), expected);
  });

  it('applies one definition of the builtin conf: the CA backend refuses what validation refuses, and takes what it takes', () => {
    for (const RSAbits of [1024, 16384, 16385, '2048']) {
      const backend = { name: 'ca-1', type: 'builtin', conf: { caCert: { RSAbits } } };
      const issues = Issues.collect();
      checkBuiltinBackend(backend, issues, { meshName: 'default', knownSecrets: undefined });
      const statically = validateDocuments(meshDocument('universal', backendsSpec(`- name: ca-1\n  type: builtin\n  conf:\n    caCert:\n      RSAbits: ${JSON.stringify(RSAbits)}`))).errors;
      expect(issues.result.errors.map((e) => e.message)).toEqual(statically.map((e) => e.message));
      expect(BuiltinConfSchema.safeParse(backend.conf).success).toBe(true);
    }
  });

  it('keeps several backends, warns about one without a name, and names Kong Mesh types it cannot use', () => {
    const errors = staticErrors(format, backendsSpec('- name: ca-1\n  type: builtin\n- name: ca-2\n  type: builtin\n- name: ca-3\n  type: acmpca', 'ca-1'));
    expectIssues(errors, [['mtls.backends[2].type', 'a Kong Mesh type mesh-ca-rotator cannot issue with']]);
    const result = validateDocuments(meshDocument(format, backendsSpec('- name: ""\n  type: builtin')));
    expect(result.warnings).toEqual(expect.arrayContaining([{ path: 'mtls.backends[0].name', message: expect.stringContaining('neither enabled nor rotated to') }]));
  });

  it('honours mtls.skipValidation: the backend checks Kuma skips only warn, our stricter rules still refuse', () => {
    const spec = `mtls:\n  skipValidation: true\n  backends:\n  - name: ca-1\n    type: provided\n  - name: ca-2\n    type: builtin\n    conf:\n      caCert:\n        RSAbits: 1024\n  - name: ca-3\n    type: nope`;
    const result = validateDocuments(meshDocument(format, spec));
    expectIssues(result.errors, [
      ['mtls.backends[1].conf.caCert.RSAbits', STRICTER],
      ['mtls.backends[2].type', 'could not find installed plugin'],
    ]);
    expect(result.warnings).toEqual(
      expect.arrayContaining([
        { path: 'mtls.backends[0].conf.cert', message: expect.stringMatching(/has to be defined.*\(not enforced: mtls.skipValidation is true\)/) },
        { path: 'mtls.backends[0].conf.key', message: expect.stringMatching(/has to be defined.*\(not enforced: mtls.skipValidation is true\)/) },
      ]),
    );
  });

  it.each([
    ['no address and no auth: VAULT_ADDR and VAULT_TOKEN fill in', 'pki: pki\n      role: role', []],
    ['aws auth (Kong Mesh)', 'pki: pki\n      role: role\n      auth:\n        aws: {}', []],
    ['no pki and an empty role', 'role: ""', [['mtls.backends[0].conf.fromCp.pki', 'cannot be empty'], ['mtls.backends[0].conf.fromCp.role', 'cannot be empty']]],
    ['an address that is not a URL', 'address: vault:8200\n      pki: pki\n      role: role', [['mtls.backends[0].conf.fromCp.address', 'is not a Vault URL']]],
    ['two auth methods', 'pki: pki\n      role: role\n      auth:\n        token:\n          inlineString: t\n        aws: {}', [['mtls.backends[0].conf.fromCp.auth', 'use exactly one auth method']]],
    ['client TLS auth without a key', 'pki: pki\n      role: role\n      auth:\n        tls:\n          clientCert:\n            file: /c.pem', [['mtls.backends[0].conf.fromCp.auth.tls.clientKey', 'has to be defined']]],
    ['a token source with two keys', 'pki: pki\n      role: role\n      auth:\n        token:\n          file: /t\n          inlineString: t', [['mtls.backends[0].conf.fromCp.auth.token', 'use exactly one of']]],
  ] as [string, string, Expected][])('vault: %s', (_name, fromCp, expected) => {
    expectIssues(staticErrors(format, backendsSpec(`- name: ca-1\n  type: vault\n  conf:\n    fromCp:\n      ${fromCp}`)), expected);
  });
  it('refuses a vault backend without conf.fromCp', () => {
    expectIssues(staticErrors(format, backendsSpec('- name: ca-1\n  type: vault')), [['mtls.backends[0].conf.fromCp', 'has to be defined']]);
  });
});

describe.each(FORMATS)('field types, as Kuma decodes them (%s)', (format) => {
  it.each([
    ['routing.zoneEgress as a string', 'routing:\n  zoneEgress: "yes"', [['routing.zoneEgress', 'expected boolean']]],
    ['a tracing sampling word', 'tracing:\n  backends:\n  - name: z\n    type: zipkin\n    sampling: high\n    conf:\n      url: http://z:9411', [['tracing.backends[0].sampling', 'must be a number']]],
    ['a quoted sampling number', 'tracing:\n  backends:\n  - name: z\n    type: zipkin\n    sampling: "50"\n    conf:\n      url: http://z:9411', []],
    ['an unknown meshServices mode', 'meshServices:\n  mode: Bogus', [['meshServices.mode', 'must be one of Disabled, Everywhere, ReachableBackends, Exclusive']]],
    ['a meshServices mode by number', 'meshServices:\n  mode: 2', []],
    ['a backend mode by any number (proto3 enums are open)', 'mtls:\n  backends:\n  - name: ca-1\n    type: builtin\n    mode: 7', []],
    ['tags that are not a map', 'constraints:\n  dataplaneProxy:\n    requirements:\n    - tags: 5', [['constraints.dataplaneProxy.requirements[0].tags', 'expected record']]],
    ['a prometheus port out of range', 'metrics:\n  backends:\n  - name: p\n    type: prometheus\n    conf:\n      port: 70000000000', [['metrics.backends[0].conf.port', 'must be a whole number']]],
    ['a filterRegex RE2 refuses (look-ahead)', 'metrics:\n  backends:\n  - name: p\n    type: prometheus\n    conf:\n      envoy:\n        filterRegex: "a(?=b)"', [['metrics.backends[0].conf.envoy.filterRegex', "provided regexp isn't correct"]]],
    ['a filterRegex with RE2 named groups', 'metrics:\n  backends:\n  - name: p\n    type: prometheus\n    conf:\n      envoy:\n        filterRegex: "(?P<x>a)\\\\z"', []],
    ['a datadog port of 0', 'tracing:\n  backends:\n  - name: d\n    type: datadog\n    conf:\n      address: dd', [['tracing.backends[0].conf.port', 'port must be in the range [1, 65535]']]],
    ['a zipkin URL with an IPv6 host and port', 'tracing:\n  backends:\n  - name: z\n    type: zipkin\n    conf:\n      url: "http://[::1]:9411/api/v2/spans"', []],
    ['a tcp logging address with IPv6', 'logging:\n  backends:\n  - name: t\n    type: tcp\n    conf:\n      address: "[::1]:5000"', []],
    ['a tcp logging address without host', 'logging:\n  backends:\n  - name: t\n    type: tcp\n    conf:\n      address: ":5000"', [['logging.backends[0].conf.address', 'has to be in format of HOST:PORT']]],
  ] as [string, string, Expected][])('%s', (_name, spec, expected) => {
    expectIssues(staticErrors(format, spec), expected);
  });
});
