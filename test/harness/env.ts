/**
 * Addresses of the real servers the jest global setup started, for tests to use. Every integration
 * test reads them here so a missing server fails loudly instead of being skipped.
 */
export interface TestServers {
  temporalAddress: string;
  temporalNamespace: string;
  temporalUiUrl: string;
  temporalBinary: string;
  vaultAddress: string;
  vaultToken: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the jest global setup did not start the servers (run tests through \`npm test\` or \`npx jest\`)`);
  return value;
}

export function testServers(): TestServers {
  return {
    temporalAddress: required('TEST_TEMPORAL_ADDRESS'),
    temporalNamespace: process.env.TEST_TEMPORAL_NAMESPACE ?? 'default',
    temporalUiUrl: required('TEST_TEMPORAL_UI_URL'),
    temporalBinary: required('TEST_TEMPORAL_BINARY'),
    vaultAddress: required('TEST_VAULT_ADDR'),
    vaultToken: required('TEST_VAULT_TOKEN'),
  };
}
