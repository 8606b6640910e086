/**
 * Worker start time as an operator sees it: from spawning `node bin/ca-rotate.js worker` to its
 * "worker polling" line, against a real Temporal dev server, several runs. Prints one JSON line per
 * run and a summary line. The worker bundles the workflow code at start unless `npm run build` left a
 * prebuilt bundle in dist/ (docs/performance.md has the figures).
 *
 *   npx tsx bench/worker-start.ts [--runs 5]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { provideDevBinaries } from '../src/devstack/binaries';
import { startTemporalDevServer } from '../src/devstack/temporal';

const BIN = path.resolve(__dirname, '../bin/ca-rotate.js');
const READY = /worker polling task queue/;
const START_TIMEOUT_MS = 180_000;

function startOnce(temporalAddress: string): Promise<number> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [BIN, 'worker'], {
    env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress, CA_ROTATE_CP_URL: 'http://127.0.0.1:1', CA_ROTATE_TASK_QUEUE: 'worker-start-bench' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no "worker polling" line after ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    let finished = false;
    const finish = (error: Error | undefined, ms?: number) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      child.once('exit', () => (error ? reject(error) : resolve(ms as number)));
      if (child.exitCode === null) child.kill('SIGINT');
      else if (error) reject(error);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (READY.test(output)) finish(undefined, Number(process.hrtime.bigint() - started) / 1e6);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => finish(new Error(`worker exited (${code}) before it was ready:\n${output}`)));
  });
}

async function main(): Promise<void> {
  const runsFlag = process.argv.indexOf('--runs');
  const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 5;
  const { temporal } = await provideDevBinaries(['temporal']);
  if (!temporal) throw new Error('no Temporal CLI: run scripts/provide-binaries.sh temporal');
  const server = await startTemporalDevServer({ binary: temporal });
  const timings: number[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const ms = Math.round(await startOnce(server.address));
      timings.push(ms);
      console.log(JSON.stringify({ run, workerStartMs: ms }));
    }
  } finally {
    await server.stop();
  }
  const sorted = [...timings].sort((a, b) => a - b);
  console.log(JSON.stringify({ runs, medianMs: sorted[Math.floor(sorted.length / 2)], minMs: sorted[0], maxMs: sorted.at(-1), loadAverage: (await import('node:os')).loadavg()[0]?.toFixed(1) }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
