/**
 * Worker wiring: the rotation workflow plus its activities on one task queue. The CLI's `worker`
 * command, the demo and the tests all build workers here.
 */
import { NativeConnection, Worker, bundleWorkflowCode, type TLSConfig, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { RotationActivities } from './activities/types';
import { ROTATION_TASK_QUEUE } from './workflows/messages';

export const WORKFLOWS_PATH = require.resolve('./workflows');

export interface RotationWorkerOptions {
  temporalAddress: string;
  /** TLS / mTLS to the frontend and an API key (a Temporal cluster or Temporal Cloud). */
  tls?: TLSConfig | boolean;
  apiKey?: string;
  namespace: string;
  activities: RotationActivities;
  taskQueue?: string;
  /** A prebuilt workflow bundle: saves the few seconds of bundling when many workers start. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  identity?: string;
}

export async function createRotationWorker(options: RotationWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: options.temporalAddress, tls: options.tls, apiKey: options.apiKey });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? ROTATION_TASK_QUEUE,
    activities: options.activities,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    ...(options.identity ? { identity: options.identity } : {}),
  });
  return { worker, connection };
}

export function bundleRotationWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never });
}
