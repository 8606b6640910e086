import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitUntil } from './ports';
import { ManagedProcess, spawnServer } from './process';

export interface OpenBaoDevServer {
  /** http://127.0.0.1:PORT */
  readonly address: string;
  /** The dev server's root token: a secret, never printed. */
  readonly token: string;
  readonly logFile: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts `bao server -dev` (in-memory, unsealed, Vault's HTTP API) on a free loopback port. */
export async function startOpenBaoDevServer(options: { binary: string; port?: number; startTimeoutMs?: number }): Promise<OpenBaoDevServer> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbao-dev-'));
  const port = options.port ?? (await freePort());
  const token = `dev-${crypto.randomBytes(16).toString('hex')}`;
  const logFile = path.join(workDir, 'openbao.log');
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: workDir, BAO_DEV_ROOT_TOKEN_ID: token };
  delete env.VAULT_ADDR;
  delete env.VAULT_TOKEN;
  // The token goes through the environment, not argv, so it does not show in `ps`.
  const proc = spawnServer(options.binary, ['server', '-dev', `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token'], logFile, env);
  const address = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(
      `OpenBao dev server (log: ${logFile})`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`exited with code ${proc.child.exitCode}`);
        const res = await fetch(`${address}/v1/sys/health`);
        return res.status === 200;
      },
      options.startTimeoutMs ?? 60_000,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { address, token, logFile, process: proc, stop: () => proc.stop() };
}
