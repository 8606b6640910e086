/**
 * Tests that need something outside the repository (the real Kuma binaries beside it, a PostgreSQL
 * server, a kube-apiserver build) declare it here. Where it is missing they do not run, and say so in
 * one line on stderr and in the run's closing summary; with `CA_ROTATE_REQUIRE_ALL=1` (set by `.ci/run`)
 * a missing requirement fails the suite instead.
 */
import { appendFileSync } from 'node:fs';

export const REQUIRE_ALL_ENV = 'CA_ROTATE_REQUIRE_ALL';
/** File the global setup names; each suite that did not run appends its line for the closing summary. */
export const NOT_RUN_FILE_ENV = 'TEST_NOT_RUN_FILE';

/** `missing`: why the requirement is not met (undefined when it is). */
export function describeWhenAvailable(title: string, missing: string | undefined, body: () => void): void {
  if (missing === undefined) {
    describe(title, body);
    return;
  }
  if (process.env[REQUIRE_ALL_ENV] === '1') {
    describe(title, () => {
      test(`requires: ${missing}`, () => {
        throw new Error(`${title} did not run: ${missing} (${REQUIRE_ALL_ENV}=1 makes this a failure)`);
      });
    });
    return;
  }
  const line = `did not run: "${title}" — ${missing}`;
  process.stderr.write(`${line}\n`);
  const file = process.env[NOT_RUN_FILE_ENV];
  if (file) appendFileSync(file, `${line}\n`);
  describe.skip(title, body);
}
