/**
 * Starting a rotation: the one code path behind `ca-rotate start`, the demo and the tests.
 * One rotation per mesh: workflow ID `ca-rotation/<mesh>` with ID conflict policy FAIL.
 */
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { rotationWorkflowId } from '../mesh/insights';
import type { Mesh } from '../mesh/schema';
import { ROTATION_TASK_QUEUE, type RotationOptions } from '../workflows/messages';
import type { caRotationWorkflow } from '../workflows/rotation';
import { CliError, EXIT_REFUSED } from './errors';

export interface StartRotationRequest {
  mesh: string;
  from: string;
  target: Mesh;
  options?: Partial<RotationOptions>;
  taskQueue?: string;
}

function alreadyRunning(mesh: string): CliError {
  const workflowId = rotationWorkflowId(mesh);
  return new CliError(`a rotation of mesh "${mesh}" is already running (workflow ${workflowId}): see \`ca-rotate status --mesh ${mesh}\``, EXIT_REFUSED);
}

/**
 * Refuses early when the mesh's rotation is running, before anything else changes: `start` uploads
 * the target's Secrets, and those may be the very ones the running rotation is about to use.
 */
export async function refuseIfRotationRunning(client: Client, mesh: string): Promise<void> {
  try {
    const description = await client.workflow.getHandle(rotationWorkflowId(mesh)).describe();
    if (description.status.name === 'RUNNING') throw alreadyRunning(mesh);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return;
    throw err;
  }
}

export async function startRotation(client: Client, request: StartRotationRequest): Promise<WorkflowHandleWithFirstExecutionRunId<typeof caRotationWorkflow>> {
  const workflowId = rotationWorkflowId(request.mesh);
  const to = request.target.mtls?.enabledBackend ?? '?';
  try {
    return await client.workflow.start<typeof caRotationWorkflow>('caRotationWorkflow', {
      taskQueue: request.taskQueue ?? ROTATION_TASK_QUEUE,
      workflowId,
      workflowIdConflictPolicy: 'FAIL',
      args: [{ mesh: request.mesh, target: request.target, options: request.options }],
      staticSummary: `CA rotation of mesh ${request.mesh}: ${request.from} → ${to}`,
      staticDetails: `Adds backend \`${to}\`, switches \`enabledBackend\` to it once every proxy trusts it, then removes \`${request.from}\` once every proxy holds a certificate from \`${to}\`.`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw alreadyRunning(request.mesh);
    }
    throw err;
  }
}
