import { provideDevBinaries } from '../../src/devstack/binaries';
import { startOpenBaoDevServer } from '../../src/devstack/openbao';
import { startTemporal } from '../../src/devstack/temporal';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NOT_RUN_FILE_ENV } from './requirements';

/** Starts one real Temporal dev server and one real OpenBao dev server for the whole test run. */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  process.env[NOT_RUN_FILE_ENV] = join(mkdtempSync(join(tmpdir(), 'ca-rotate-tests-')), 'not-run.txt');
  // For a quick run of pure unit tests only; integration tests then fail loudly (see env.ts).
  if (process.env.TEST_NO_SERVERS === '1') return;
  const binaries = await provideDevBinaries();
  const stoppers: (() => Promise<void>)[] = [];
  (globalThis as { __servers?: typeof stoppers }).__servers = stoppers;

  const temporal = await startTemporal({ binary: binaries.temporal });
  stoppers.push(() => temporal.stop());
  process.env.TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.TEST_TEMPORAL_NAMESPACE = temporal.namespace;
  process.env.TEST_TEMPORAL_UI_URL = temporal.uiUrl;
  process.env.TEST_TEMPORAL_BINARY = binaries.temporal ?? '';

  if (process.env.VAULT_ADDR && process.env.VAULT_TOKEN) {
    process.env.TEST_VAULT_ADDR = process.env.VAULT_ADDR;
    process.env.TEST_VAULT_TOKEN = process.env.VAULT_TOKEN;
  } else {
    if (!binaries.bao) throw new Error('no OpenBao binary and no VAULT_ADDR/VAULT_TOKEN: the Vault tests cannot run');
    const bao = await startOpenBaoDevServer({ binary: binaries.bao });
    stoppers.push(() => bao.stop());
    process.env.TEST_VAULT_ADDR = bao.address;
    process.env.TEST_VAULT_TOKEN = bao.token;
  }
  console.log(`\n[harness] Temporal ${temporal.address} (UI ${temporal.uiUrl}), Vault ${process.env.TEST_VAULT_ADDR}, ready in ${Date.now() - started} ms`);
}
