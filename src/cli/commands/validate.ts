/** `ca-rotate validate -f FILE [--json]`: 0 valid (warnings allowed), 2 invalid, 1 unexpected. */
import { checkDocuments, readInputFile } from '../documents';
import { EXIT_OK, EXIT_REFUSED } from '../errors';
import { printJson, printIssues } from '../output';
import type { Settings } from '../settings';

export async function validateCommand(options: { file: string; json?: boolean }, settings: Settings): Promise<number> {
  const result = await checkDocuments(readInputFile(options.file), settings);
  if (options.json) {
    printJson({ valid: result.valid, errors: result.errors, warnings: result.warnings });
  } else {
    if (result.valid) process.stdout.write(`${options.file}: valid${result.mesh ? ` (mesh "${result.mesh.name}", ${result.format} format)` : ''}\n`);
    else process.stdout.write(`${options.file}: invalid\n`);
    printIssues('error', result.errors);
    printIssues('warning', result.warnings);
  }
  return result.valid ? EXIT_OK : EXIT_REFUSED;
}
