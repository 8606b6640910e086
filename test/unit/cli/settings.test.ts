import { loadSettings, SettingsError } from '../../../src/cli/settings';

describe('CLI settings: environment, overridden by flags', () => {
  it('defaults to a local Temporal, Kuma API port and the ca-rotation task queue', () => {
    expect(loadSettings({}, {})).toEqual({
      temporalAddress: 'localhost:7233',
      namespace: 'default',
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
});
