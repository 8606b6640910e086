/**
 * Worker wiring: the rotation workflow plus its activities on one task queue. The CLI's `worker`
 * command, the demo and the tests all build workers here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker, bundleWorkflowCode, type TLSConfig, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { RotationActivities } from './activities/types';
import { ROTATION_TASK_QUEUE } from './workflows/messages';

export const WORKFLOWS_PATH = require.resolve('./workflows');
/** Written by `npm run build` next to the compiled worker (dist/); absent when running the TypeScript. */
export const PREBUILT_BUNDLE = { codePath: path.join(__dirname, 'workflow-bundle.js'), sourceMapPath: path.join(__dirname, 'workflow-bundle.js.map') };

/** The prebuilt bundle when there is one, else the workflow sources to bundle at start. */
function workflowCode(): { workflowBundle: { codePath: string; sourceMapPath: string } } | { workflowsPath: string } {
  return fs.existsSync(PREBUILT_BUNDLE.codePath) ? { workflowBundle: PREBUILT_BUNDLE } : { workflowsPath: WORKFLOWS_PATH };
}

export interface RotationWorkerOptions {
  temporalAddress: string;
  /** TLS / mTLS to the frontend and an API key (a Temporal cluster or Temporal Cloud). */
  tls?: TLSConfig | boolean;
  apiKey?: string;
  namespace: string;
  activities: RotationActivities;
  taskQueue?: string;
  /** A workflow bundle built in this process: saves bundling again when many workers start. */
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
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : workflowCode()),
    ...(options.identity ? { identity: options.identity } : {}),
  });
  return { worker, connection };
}

export function bundleRotationWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never });
}
