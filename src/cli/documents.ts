/** Reading the user's YAML files and running every check on them: static, then each CA backend's own. */
import fs from 'node:fs';
import { validateBackends } from '../ca/registry';
import { MemorySecretStore } from '../ca/memory-secret-store';
import { validateDocuments, type DocumentsValidation } from '../mesh/validate';
import { distinctIssues } from '../mesh/validate-issues';
import { CliError, EXIT_REFUSED } from './errors';
import { errorMessage } from '../mesh/errors';
import type { Settings } from './settings';

export function readInputFile(file: string, flag = '-f'): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`${flag} ${file}: cannot read the file (${errorMessage(err)})`, EXIT_REFUSED);
  }
}

/** Static validation, then (when that passes) the backends' crypto and live checks (vault: a test issue). */
export async function checkDocuments(text: string, settings: Pick<Settings, 'vaultAddress' | 'vaultToken'>): Promise<DocumentsValidation> {
  const result = validateDocuments(text);
  if (!result.valid || !result.mesh) return result;
  const mesh = result.mesh;
  const secrets = new MemorySecretStore(
    (result.secrets ?? []).map((s) => ({ mesh: s.mesh, name: s.name, data: Buffer.from(s.data, 'base64') })),
  );
  // A CA that does not answer throws CaUnavailableError: main.ts says "transient", never "invalid".
  const backends = await validateBackends(
    mesh,
    { mesh: mesh.name, secrets, vaultDefaults: { address: settings.vaultAddress, token: settings.vaultToken } },
    { unavailable: 'throw' },
  );
  const errors = distinctIssues([...result.errors, ...backends.errors]);
  return { ...result, valid: errors.length === 0, errors, warnings: distinctIssues([...result.warnings, ...backends.warnings]) };
}
