import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSettings, SettingsError, temporalConnectionOptions } from '../../../src/cli/settings';

describe('CLI settings: environment, overridden by flags', () => {
  it('defaults to a local Temporal, Kuma API port and the ca-rotation task queue', () => {
    expect(loadSettings({}, {})).toEqual({
      temporalAddress: 'localhost:7233',
      namespace: 'default',
      temporalTls: undefined,
      temporalApiKey: undefined,
      metricsAddress: undefined,
      controlPlaneUrl: 'http://127.0.0.1:5681',
      controlPlaneToken: undefined,
      vaultAddress: undefined,
      vaultToken: undefined,
      temporalUiUrl: undefined,
      taskQueue: 'ca-rotation',
    });
  });

  it('reads the environment, and flags win over it', () => {
    const env = {
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'mesh-ops',
      CA_ROTATE_CP_URL: 'http://cp:5681',
      CA_ROTATE_CP_TOKEN: 'tok',
      CA_ROTATE_TASK_QUEUE: 'q-1',
      VAULT_ADDR: 'http://vault:8200',
      VAULT_TOKEN: 'vt',
      TEMPORAL_UI_URL: 'http://ui:8080',
    };
    expect(loadSettings({}, env)).toEqual({
      temporalAddress: 'temporal:7233',
      namespace: 'mesh-ops',
      temporalTls: undefined,
      temporalApiKey: undefined,
      metricsAddress: undefined,
      controlPlaneUrl: 'http://cp:5681',
      controlPlaneToken: 'tok',
      vaultAddress: 'http://vault:8200',
      vaultToken: 'vt',
      temporalUiUrl: 'http://ui:8080',
      taskQueue: 'q-1',
    });
    expect(loadSettings({ temporalAddress: 'other:1', namespace: 'ns', cpUrl: 'http://x:1', temporalUi: 'http://u:2' }, env)).toMatchObject({
      temporalAddress: 'other:1',
      namespace: 'ns',
      controlPlaneUrl: 'http://x:1',
      temporalUiUrl: 'http://u:2',
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadSettings({}, { CA_ROTATE_CP_TOKEN: '', CA_ROTATE_TASK_QUEUE: '', TEMPORAL_UI_URL: '' })).toMatchObject({
      controlPlaneToken: undefined,
      taskQueue: 'ca-rotation',
      temporalUiUrl: undefined,
    });
  });

  it.each([
    [{ TEMPORAL_ADDRESS: 'localhost' }, /^TEMPORAL_ADDRESS \/ --temporal-address: must be host:port/],
    [{ CA_ROTATE_CP_URL: 'not a url' }, /^CA_ROTATE_CP_URL \/ --cp-url: must be a URL/],
    [{ VAULT_ADDR: 'vault' }, /^VAULT_ADDR: /],
  ])('names the setting that is wrong: %j', (env, message) => {
    expect(() => loadSettings({}, env)).toThrow(SettingsError);
    expect(() => loadSettings({}, env)).toThrow(message);
  });

  it('never puts a token into its error message', () => {
    try {
      loadSettings({}, { TEMPORAL_ADDRESS: 'bad', CA_ROTATE_CP_TOKEN: 'super-secret-token', VAULT_TOKEN: 'vault-secret' });
      throw new Error('expected a SettingsError');
    } catch (err) {
      expect(err).toBeInstanceOf(SettingsError);
      expect(String(err)).not.toMatch(/super-secret-token|vault-secret/);
    }
  });

  describe('a Temporal cluster or Temporal Cloud: TLS, mTLS and an API key', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settings-'));
    const pemFile = (name: string, label: string) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`);
      return file;
    };
    const ca = pemFile('ca.pem', 'CERTIFICATE');
    const cert = pemFile('client.pem', 'CERTIFICATE');
    const key = pemFile('client.key', 'PRIVATE KEY');

    it('stays plaintext without any TLS setting', () => {
      expect(temporalConnectionOptions(loadSettings({}, {}))).toEqual({ address: 'localhost:7233', tls: false });
    });

    it("reads Temporal's own variables for mTLS, and the files they name", () => {
      const settings = loadSettings({}, {
        TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
        TEMPORAL_NAMESPACE: 'ns.acct',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
        TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: key,
        TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
      });
      expect(settings.temporalTls).toEqual({ serverCaCertPath: ca, clientCertPath: cert, clientKeyPath: key, serverName: 'frontend.internal' });
      const options = temporalConnectionOptions(settings);
      expect(options.address).toBe('ns.acct.tmprl.cloud:7233');
      expect(options.tls).toEqual({
        serverRootCACertificate: fs.readFileSync(ca),
        clientCertPair: { crt: fs.readFileSync(cert), key: fs.readFileSync(key) },
        serverNameOverride: 'frontend.internal',
      });
    });

    it('turns TLS on with an API key (Temporal Cloud), and flags win over the environment', () => {
      const settings = loadSettings({ apiKey: 'from-flag' }, { TEMPORAL_API_KEY: 'from-env' });
      expect(temporalConnectionOptions(settings)).toEqual({ address: 'localhost:7233', tls: {}, apiKey: 'from-flag' });
      expect(temporalConnectionOptions(loadSettings({}, { TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }))).toEqual({ address: 'localhost:7233', tls: false, apiKey: 'k' });
      expect(loadSettings({ tls: true }, {}).temporalTls).toEqual({});
      expect(loadSettings({ tls: false }, { TEMPORAL_TLS: 'true' }).temporalTls).toBeUndefined();
    });

    it.each([
      [{ TEMPORAL_TLS_CLIENT_CERT_PATH: 'c.pem' }, /^TEMPORAL_TLS_CLIENT_CERT_PATH \/ --tls-cert-path: a client certificate needs its key/],
      [{ TEMPORAL_TLS_CLIENT_KEY_PATH: 'k.pem' }, /^TEMPORAL_TLS_CLIENT_CERT_PATH \/ --tls-cert-path: a client certificate needs its key/],
      [{ TEMPORAL_TLS: 'yes' }, /^TEMPORAL_TLS \/ --tls: must be true or false/],
      [{ TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'ca.pem' }, /^TEMPORAL_TLS \/ --tls: is false, but TLS files/],
      [{ CA_ROTATE_METRICS_ADDRESS: '9464' }, /^CA_ROTATE_METRICS_ADDRESS \/ --metrics-address: must be host:port/],
    ])('names the TLS setting that is wrong: %j', (env, message) => {
      expect(() => loadSettings({}, env)).toThrow(message);
    });

    it('names the variable of a TLS file it cannot use, and never prints the API key', () => {
      const missing = loadSettings({}, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'absent.pem'), TEMPORAL_API_KEY: 'secret-api-key' });
      expect(() => temporalConnectionOptions(missing)).toThrow(/^TEMPORAL_TLS_SERVER_CA_CERT_PATH \/ --tls-ca-path: cannot read .*absent\.pem \(ENOENT\)/);
      fs.writeFileSync(path.join(dir, 'not.pem'), 'hello');
      const notPem = loadSettings({}, { TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'not.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: key, TEMPORAL_API_KEY: 'secret-api-key' });
      expect(() => temporalConnectionOptions(notPem)).toThrow(/^TEMPORAL_TLS_CLIENT_CERT_PATH \/ --tls-cert-path: .*not\.pem is not PEM$/);
      try {
        temporalConnectionOptions(notPem);
      } catch (err) {
        expect(String(err)).not.toContain('secret-api-key');
      }
    });
  });
});
