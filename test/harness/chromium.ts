/**
 * Chromium for the browser test, found the way scripts/provide-binaries.sh looks for it
 * (CHROMIUM_PATH, then `chromium` on PATH) without installing anything: `npm test` and `.ci/run`
 * provide it before jest starts.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const SCRIPT = path.resolve(__dirname, '../../scripts/provide-binaries.sh');

export const CHROMIUM_MISSING =
  'chromium not found: run `bash scripts/provide-binaries.sh chromium` (installs it on Debian/Ubuntu as root) or set CHROMIUM_PATH';

/** The browser's path, or undefined when there is none. */
export function chromiumPath(): string | undefined {
  const stdout = execFileSync('bash', [SCRIPT, 'chromium'], { env: { ...process.env, CHROMIUM_INSTALL: 'no' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const found = /^chromium=(.*)$/m.exec(stdout)?.[1]?.trim();
  return found || undefined;
}
