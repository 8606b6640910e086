/**
 * Kuma 2.14's name rules for a Mesh (meta_validator_test.go, the mesh manager's 63-character limit) and
 * its CA plugins' ValidateBackend tables (pkg/plugins/ca/{builtin,provided}/manager_test.go), ported,
 * in both formats.
 */
import { FORMATS, type Expected, expectIssues, staticErrors } from './validate-support';

describe.each(FORMATS)("Kuma's resource name rules for a Mesh (%s)", (format) => {
  const SUBDOMAIN = 'invalid characters. A lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters';
  it.each([
    ['two..dots', [['name', SUBDOMAIN]]],
    ['under_score', [['name', SUBDOMAIN]]],
    ['-leading-dash', [['name', SUBDOMAIN]]],
    ['a'.repeat(64), [['name', 'cannot be longer than 63 characters']]],
    ['a'.repeat(254), [['name', 'value length must less or equal 253'], ['name', 'cannot be longer than 63 characters']]],
  ] as [string, Expected][])('refuses %s', (name, expected) => {
    expectIssues(staticErrors(format, '', '', name), expected);
  });

  it.each(['default', 'name-1', 'default.name-1', 'a'.repeat(63)])('accepts %s', (name) => {
    expect(staticErrors(format, '', '', name)).toEqual([]);
  });
});

describe.each(FORMATS)("Kuma's CA backend rules (%s)", (format) => {
  const LONG = Array.from({ length: 19 }, () => 'backend-long').join('.');
  it.each([
    // Kuma: mtls.backends.name (its CA manager does not know the index; the caller does)
    ['a builtin name too long for the secret name', `- name: ${LONG}\n  type: builtin`, [['mtls.backends[0].name', 'Backend name is too long. Max length: 255']]],
    ['a builtin name with upper case', '- name: builtinCA\n  type: builtin', [['mtls.backends[0].name', '"builtinCA" name must be valid dns name']]],
    ['a provided backend with empty conf', '- name: provided-1\n  type: provided', [['mtls.backends[0].conf.cert', 'has to be defined'], ['mtls.backends[0].conf.key', 'has to be defined']]],
    ['a provided backend without data sources', '- name: provided-1\n  type: provided\n  conf:\n    cert: {}\n    key: {}', [
      ['mtls.backends[0].conf.cert', 'data source has to be chosen. Available sources: secret, inline, inlineString, file'],
      ['mtls.backends[0].conf.key', 'data source has to be chosen. Available sources: secret, inline, inlineString, file'],
    ]],
    ['a provided backend with empty secrets', '- name: provided-1\n  type: provided\n  conf:\n    cert:\n      secret:\n    key:\n      secret:', [
      ['mtls.backends[0].conf.cert', 'data source has to be chosen'],
      ['mtls.backends[0].conf.key', 'data source has to be chosen'],
    ]],
    ['a type no plugin is installed for', '- name: x\n  type: unknown', [['mtls.backends[0].type', 'could not find installed plugin for this type']]],
  ] as [string, string, Expected][])('%s', (_name, backends, expected) => {
    expectIssues(staticErrors(format, `mtls:\n  backends:\n${backends.replace(/^/gm, '  ')}`), expected);
  });

  it('accepts builtin names Kuma accepts: dots, underscores, up to 47 characters before a dot', () => {
    const names = ['ca.1', 'ca_1', 'a'.repeat(47), `${'a'.repeat(47)}.b`];
    const backends = names.map((name) => `  - name: ${name}\n    type: builtin`).join('\n');
    expect(staticErrors(format, `mtls:\n  backends:\n${backends}`)).toEqual([]);
    expectIssues(staticErrors(format, `mtls:\n  backends:\n  - name: ${'a'.repeat(48)}\n    type: builtin`), [['mtls.backends[0].name', 'name must be valid dns name']]);
  });
});
