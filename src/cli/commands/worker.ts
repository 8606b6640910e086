/** `ca-rotate worker`: runs the rotation worker until SIGINT/SIGTERM. */
import { rotationActivitiesFor } from '../../activities';
import { createRotationWorker } from '../../worker';
import { CliError, EXIT_OK, EXIT_UNEXPECTED, errorMessage } from '../errors';
import type { Settings } from '../settings';

export async function workerCommand(settings: Settings): Promise<number> {
  const activities = rotationActivitiesFor({
    controlPlaneUrl: settings.controlPlaneUrl,
    controlPlaneToken: settings.controlPlaneToken,
    vault: { address: settings.vaultAddress, token: settings.vaultToken },
  });
  const taskQueue = settings.taskQueue;
  let created;
  try {
    created = await createRotationWorker({ temporalAddress: settings.temporalAddress, namespace: settings.namespace, activities, taskQueue });
  } catch (err) {
    throw new CliError(`cannot start the worker against Temporal at ${settings.temporalAddress}: ${errorMessage(err)}`, EXIT_UNEXPECTED);
  }
  process.stdout.write(`worker polling task queue "${taskQueue}" on ${settings.temporalAddress} (namespace ${settings.namespace}), control plane ${settings.controlPlaneUrl}\n`);
  const { worker, connection } = created;
  const stop = (): void => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
  return EXIT_OK;
}
