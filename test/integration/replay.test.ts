/**
 * Recorded rotation histories replay through today's workflow code: a change that would break
 * rotations in flight (a nondeterministic edit) fails here. Record a new history with
 * `RECORD_HISTORIES=1 npx jest test/e2e/rotation-backends -t vault` and add it to the folder.
 */
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { WORKFLOWS_PATH } from '../../src/worker';

const HISTORIES = path.resolve(__dirname, '../fixtures/histories');

describe('recorded rotation histories', () => {
  const files = fs.readdirSync(HISTORIES).filter((f) => f.endsWith('.history.pb'));

  it('are there to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it('replay through the current workflow code without a nondeterminism error', async () => {
    const histories = files.map((file) => ({
      workflowId: file.replace(/\.history\.pb$/, ''),
      history: temporal.api.history.v1.History.decode(fs.readFileSync(path.join(HISTORIES, file))),
    }));
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowsPath: WORKFLOWS_PATH, replayName: 'rotation-replay' }, histories)) {
      results.push(result);
    }
    expect(results).toHaveLength(files.length);
    for (const result of results) {
      expect({ workflowId: result.workflowId, error: result.error?.message }).toEqual({ workflowId: result.workflowId, error: undefined });
    }
  });
});
