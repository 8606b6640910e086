/** Temporal client for the CLI, with a clear error when the server cannot be reached. */
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { rotationWorkflowId } from '../mesh/insights';
import { CliError, EXIT_REFUSED, EXIT_UNEXPECTED } from './errors';
import { errorMessage } from '../mesh/errors';
import { temporalConnectionOptions, type Settings } from './settings';

export async function connectTemporal(settings: Settings): Promise<{ client: Client; close(): Promise<void> }> {
  const options = temporalConnectionOptions(settings);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: 5_000 });
  } catch (err) {
    throw new CliError(`cannot reach Temporal at ${settings.temporalAddress} (TEMPORAL_ADDRESS): ${errorMessage(err)}`, EXIT_UNEXPECTED);
  }
  return { client: new Client({ connection, namespace: settings.namespace }), close: () => connection.close() };
}

/** Runs `fn` with a handle of the mesh's rotation workflow, turning "not found" into one clear line. */
export async function withRotationHandle<T>(
  client: Client,
  mesh: string,
  fn: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<T>,
): Promise<T> {
  const handle = client.workflow.getHandle(rotationWorkflowId(mesh));
  try {
    return await fn(handle);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no rotation of mesh "${mesh}" found (workflow ${rotationWorkflowId(mesh)})`, EXIT_REFUSED);
    throw err;
  }
}
