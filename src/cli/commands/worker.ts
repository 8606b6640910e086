/**
 * `ca-rotate worker`: runs the rotation worker, and the insight watcher beside it, until SIGINT/SIGTERM.
 * In Kubernetes mode it first checks it holds every RBAC verb it will use (naming any that is
 * missing), and watches the proxies' DataplaneInsights to send the workflows their acks.
 */
import { Client, Connection } from '@temporalio/client';
import { insightSettleMsFor, rotationActivitiesFor } from '../../activities';
import { InsightWatcher } from '../../activities/insight-watcher';
import { connectKubernetes } from '../../kubernetes/connection';
import { KubernetesInsightWatcher } from '../../kubernetes/insight-watcher';
import { WORKER_PERMISSIONS, checkPermissions } from '../../kubernetes/permissions';
import { createRotationWorker } from '../../worker';
import { installPrometheusRuntime, RotationMetrics } from '../../worker-metrics';
import { controlPlaneConnection, controlPlaneTarget, meshLocation, onControlPlane } from '../control-plane';
import { CliError, EXIT_OK, EXIT_UNEXPECTED } from '../errors';
import { errorMessage } from '../../mesh/errors';
import { temporalConnectionOptions, type Settings } from '../settings';

export async function workerCommand(settings: Settings): Promise<number> {
  const connection = controlPlaneConnection(settings, 30_000);
  const target = controlPlaneTarget({ ...settings });
  const kubernetes = settings.kubernetes;
  const kubeConnection = kubernetes ? await onControlPlane(settings, async () => connectKubernetes(kubernetes)) : undefined;
  if (kubeConnection) await onControlPlane(settings, () => checkPermissions(kubeConnection, WORKER_PERMISSIONS));
  const activities = rotationActivitiesFor(
    { controlPlane: connection, vault: { address: settings.vaultAddress, token: settings.vaultToken }, insightSettleMs: settings.insightSettleMs },
    target,
  );
  const taskQueue = settings.taskQueue;
  const temporalOptions = temporalConnectionOptions(settings);
  // Before any connection: the SDK's runtime is created once per process.
  const meter = settings.metricsAddress ? serveMetrics(settings.metricsAddress) : undefined;
  let created;
  let clientConnection: Connection | undefined;
  try {
    created = await createRotationWorker({ temporalAddress: settings.temporalAddress, tls: temporalOptions.tls, apiKey: temporalOptions.apiKey, namespace: settings.namespace, activities, taskQueue });
    clientConnection = await Connection.connect(temporalOptions);
  } catch (err) {
    await created?.connection.close().catch(() => undefined);
    throw new CliError(`cannot start the worker against Temporal at ${settings.temporalAddress}: ${errorMessage(err)}`, EXIT_UNEXPECTED);
  }
  const client = new Client({ connection: clientConnection, namespace: settings.namespace });
  // Idle while the control plane pushes acks itself; otherwise it polls `_overview` for running rotations.
  const watcher = new InsightWatcher({ target, client, taskQueue, settleMs: insightSettleMsFor(settings.insightSettleMs) });
  const metrics = meter ? new RotationMetrics({ meter, client, taskQueue, log: (line) => process.stderr.write(`${line}\n`) }) : undefined;
  watcher.start();
  metrics?.start();
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  // Kubernetes mode: acks come from a watch of the DataplaneInsights, pushed as the relay does.
  // Against kuma-cp its insights are believed only under the settle rule, as for the snapshots.
  const kubeWatcher = kubeConnection
    ? new KubernetesInsightWatcher({
        connection: kubeConnection,
        temporal: { ...temporalOptions, namespace: settings.namespace },
        log,
        settleMs: insightSettleMsFor(settings.insightSettleMs)(await target.identify()),
      })
    : undefined;
  process.stdout.write(`worker polling task queue "${taskQueue}" on ${settings.temporalAddress} (namespace ${settings.namespace}), mesh ${meshLocation(settings)}\n`);
  if (settings.metricsAddress) process.stdout.write(`metrics for Prometheus on http://${settings.metricsAddress}/metrics\n`);
  const { worker, connection: workerConnection } = created;
  const stop = (): void => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await worker.run();
  } finally {
    await watcher.stop();
    await metrics?.stop();
    await kubeWatcher?.stop();
    await clientConnection.close();
    await workerConnection.close();
  }
  return EXIT_OK;
}

function serveMetrics(address: string): ReturnType<typeof installPrometheusRuntime> {
  try {
    return installPrometheusRuntime(address);
  } catch (err) {
    throw new CliError(`cannot serve metrics on ${address} (CA_ROTATE_METRICS_ADDRESS / --metrics-address): ${errorMessage(err)}`, EXIT_UNEXPECTED);
  }
}
