/** `ca-rotate pause|resume|approve|abort|rollback [--mesh NAME]`: 0 done, 2 refused with the reason. */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { CONTROL_UPDATES, type ControlName } from '../../workflows/messages';
import { CliError, EXIT_OK, EXIT_REFUSED } from '../errors';
import { errorMessage } from '../../mesh/errors';
import { printJson } from '../output';
import type { Settings } from '../settings';
import { connectTemporal, withRotationHandle } from '../temporal';

export async function controlCommand(control: ControlName, flags: { mesh: string; reason?: string; json?: boolean }, settings: Settings): Promise<number> {
  const temporal = await connectTemporal(settings);
  try {
    const message = await withRotationHandle(temporal.client, flags.mesh, async (handle) => {
      try {
        if (control === 'pause') return await handle.executeUpdate(CONTROL_UPDATES.pause, { args: [{ reason: flags.reason }] });
        return await handle.executeUpdate(CONTROL_UPDATES[control]);
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          throw new CliError(`${control} refused: ${errorMessage(err.cause ?? err)}`, EXIT_REFUSED);
        }
        if (err instanceof Error && /workflow execution already completed/i.test(err.message)) {
          throw new CliError(`${control} refused: the rotation of mesh "${flags.mesh}" has already finished`, EXIT_REFUSED);
        }
        throw err;
      }
    });
    if (flags.json) printJson({ ok: true, control, message });
    else process.stdout.write(`${control}: ${message}\n`);
    return EXIT_OK;
  } finally {
    await temporal.close();
  }
}
