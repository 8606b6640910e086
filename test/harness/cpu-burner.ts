/**
 * Keeps the machine busy while a test runs: busy-looping child processes (one per core by default), so
 * a test proves its invariant on a starved machine, not only on a quiet one. Children are killed when
 * the burner stops and, at the latest, when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';

export interface CpuBurner {
  readonly processes: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function startCpuBurner(processes = Math.max(1, os.availableParallelism())): CpuBurner {
  const children = Array.from({ length: processes }, () => {
    const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    running.add(child);
    child.once('exit', () => running.delete(child));
    return child;
  });
  return {
    processes,
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}
