/** `ca-rotate worker`: runs the rotation worker, and the insight watcher beside it, until SIGINT/SIGTERM. */
import { Client, Connection } from '@temporalio/client';
import { insightSettleMsFor, rotationActivitiesFor } from '../../activities';
import { InsightWatcher } from '../../activities/insight-watcher';
import { createRotationWorker } from '../../worker';
import { controlPlaneConnection, controlPlaneTarget } from '../control-plane';
import { CliError, EXIT_OK, EXIT_UNEXPECTED, errorMessage } from '../errors';
import type { Settings } from '../settings';

export async function workerCommand(settings: Settings): Promise<number> {
  const connection = controlPlaneConnection(settings, 30_000);
  const target = controlPlaneTarget({ ...settings });
  const activities = rotationActivitiesFor(
    { controlPlane: connection, vault: { address: settings.vaultAddress, token: settings.vaultToken }, insightSettleMs: settings.insightSettleMs },
    target,
  );
  const taskQueue = settings.taskQueue;
  let created;
  let watcherConnection: Connection;
  try {
    created = await createRotationWorker({ temporalAddress: settings.temporalAddress, namespace: settings.namespace, activities, taskQueue });
    watcherConnection = await Connection.connect({ address: settings.temporalAddress });
  } catch (err) {
    throw new CliError(`cannot start the worker against Temporal at ${settings.temporalAddress}: ${errorMessage(err)}`, EXIT_UNEXPECTED);
  }
  // Idle while the control plane pushes acks itself; otherwise it polls `_overview` for running rotations.
  const watcher = new InsightWatcher({
    target,
    client: new Client({ connection: watcherConnection, namespace: settings.namespace }),
    taskQueue,
    settleMs: insightSettleMsFor(settings.insightSettleMs),
  });
  watcher.start();
  process.stdout.write(`worker polling task queue "${taskQueue}" on ${settings.temporalAddress} (namespace ${settings.namespace}), control plane ${settings.controlPlaneUrl}\n`);
  const { worker, connection: workerConnection } = created;
  const stop = (): void => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await worker.run();
  } finally {
    await watcher.stop();
    await watcherConnection.close();
    await workerConnection.close();
  }
  return EXIT_OK;
}
