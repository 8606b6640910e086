/** `ca-rotate status [--mesh NAME] [--watch] [--json]`: the rotation's progress, from the workflow's query. */
import type { Client } from '@temporalio/client';
import { statusQuery, type RotationStatus } from '../../workflows/messages';
import { EXIT_OK } from '../errors';
import { formatStatus, printJson, statusJson } from '../output';
import type { Settings } from '../settings';
import { connectTemporal, withRotationHandle } from '../temporal';

export async function readStatus(client: Client, mesh: string): Promise<RotationStatus> {
  return withRotationHandle(client, mesh, (handle) => handle.query(statusQuery));
}

export async function statusCommand(flags: { mesh: string; watch?: boolean; json?: boolean; intervalMs?: number }, settings: Settings): Promise<number> {
  const temporal = await connectTemporal(settings);
  try {
    if (!flags.watch) {
      const status = await readStatus(temporal.client, flags.mesh);
      if (flags.json) printJson(statusJson(status));
      else process.stdout.write(`${formatStatus(status, false)}\n`);
      return EXIT_OK;
    }
    const tty = process.stdout.isTTY === true && !flags.json;
    let lastPrinted = '';
    let drawnLines = 0;
    for (;;) {
      const status = await readStatus(temporal.client, flags.mesh);
      if (flags.json) {
        const line = JSON.stringify(statusJson(status));
        if (line !== lastPrinted) process.stdout.write(`${line}\n`);
        lastPrinted = line;
      } else if (tty) {
        // Redraw in place: move up over the previous frame and clear it.
        const frame = formatStatus(status, true);
        if (drawnLines > 0) process.stdout.write(`\x1b[${drawnLines}A\x1b[0J`);
        process.stdout.write(`${frame}\n`);
        drawnLines = frame.split('\n').length;
      } else {
        const text = formatStatus(status, false);
        if (text !== lastPrinted) process.stdout.write(`${text}\n`);
        lastPrinted = text;
      }
      if (status.status !== 'RUNNING') return EXIT_OK;
      await new Promise((r) => setTimeout(r, flags.intervalMs ?? 1000));
    }
  } finally {
    await temporal.close();
  }
}
