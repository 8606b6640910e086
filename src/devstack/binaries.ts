import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DevBinaries {
  /** Path of the Temporal CLI, or undefined when only the SDK's own download is left. */
  temporal?: string;
  /** Path of the OpenBao binary, or undefined when VAULT_ADDR names an existing server. */
  bao?: string;
}

const SCRIPT = path.resolve(__dirname, '../../scripts/provide-binaries.sh');

/**
 * Finds or builds the Temporal CLI and OpenBao via scripts/provide-binaries.sh (one place for the
 * look-up order). Its progress goes to our stderr so a first, slow build is visible.
 */
export async function provideDevBinaries(wanted: readonly ('temporal' | 'bao')[] = ['temporal', 'bao']): Promise<DevBinaries> {
  const child = run('bash', [SCRIPT, ...wanted], { maxBuffer: 16 * 1024 * 1024, timeout: 60 * 60 * 1000 });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  const found: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^(temporal|bao)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) found[match[1]] = match[2];
  }
  return { temporal: found.temporal || undefined, bao: found.bao || undefined };
}
