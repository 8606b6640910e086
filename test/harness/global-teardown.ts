import { existsSync, readFileSync } from 'node:fs';
import { NOT_RUN_FILE_ENV } from './requirements';

export default async function globalTeardown(): Promise<void> {
  const stoppers = (globalThis as { __servers?: (() => Promise<void>)[] }).__servers ?? [];
  await Promise.all(stoppers.map((stop) => stop()));
  const notRun = process.env[NOT_RUN_FILE_ENV];
  if (notRun && existsSync(notRun)) {
    const lines = readFileSync(notRun, 'utf8').trim().split('\n');
    console.log(`\n[harness] ${lines.length} suite(s) did not run because something outside the repository is missing:\n${lines.map((l) => `  ${l}`).join('\n')}`);
  }
}
