import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker, NativeConnection } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { testServers } from '../harness/env';

describe('the real Temporal dev server', () => {
  it('runs a workflow on a real worker and returns its history', async () => {
    const servers = testServers();
    const taskQueue = `hello-${randomUUID()}`;
    const nativeConnection = await NativeConnection.connect({ address: servers.temporalAddress });
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: servers.temporalNamespace,
      taskQueue,
      workflowsPath: require.resolve('../fixtures/workflows/hello'),
      activities: { greet: async (name: string) => `hello, ${name}` },
    });
    const connection = await Connection.connect({ address: servers.temporalAddress });
    const client = new Client({ connection, namespace: servers.temporalNamespace });
    try {
      const handle = await client.workflow.start('helloWorkflow', { taskQueue, workflowId: `hello-${randomUUID()}`, args: ['mesh'] });
      const result = await worker.runUntil(handle.result());
      expect(result).toBe('hello, mesh');
      const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
      const types = (history.events ?? []).map((e) => e.eventType);
      const EventType = temporal.api.enums.v1.EventType;
      expect(types[0]).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
      expect(types).toContain(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
      expect(types[types.length - 1]).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  });
});
