/**
 * List, then watch from the list's resourceVersion, for as long as it runs: when the watch ends (the
 * server's timeout, a restarted or killed API server, an expired resourceVersion) it lists again and
 * hands the full state over, so a consumer never misses a change, only sees some twice.
 */
import { Watch } from '@kubernetes/client-node';
import type { z } from 'zod';
import { type KubernetesConnection, KubernetesPermanentError } from './connection';
import { revisionNumber } from './resources';
import { errorMessage } from '../mesh/errors';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ListWatchOptions<T> {
  connection: KubernetesConnection;
  /** For log lines, e.g. `dataplaneinsights.kuma.io`. */
  what: string;
  /** The collection's path, e.g. `/apis/kuma.io/v1alpha1/dataplaneinsights`. */
  path: string;
  query?: Record<string, string>;
  schema: z.ZodType<T>;
  /** One full listing (all pages); errors as from `kubeCall`. */
  list(): Promise<{ items: unknown[]; resourceVersion: string; serverTimeMs?: number }>;
  /** The complete state as of `revision` and of the server's clock when known (after a start or any interruption). */
  onSync(items: T[], revision: number, serverTimeMs: number | undefined): void | Promise<void>;
  onEvent(type: WatchEventType, item: T, revision: number): void | Promise<void>;
  log(line: string): void;
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 5_000;
const WARN_EVERY_MS = 30_000;
/** Ask the server to end each watch after this long; the loop re-watches from where it was. */
const WATCH_TIMEOUT_SECONDS = 300;

export class ListWatch<T> {
  private stopped = false;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private lastWarning = 0;
  private syncedOnce!: () => void;
  /** Resolves after the first complete listing has been handed over. */
  readonly synced = new Promise<void>((resolve) => (this.syncedOnce = resolve));
  private readonly running: Promise<void>;

  constructor(private readonly options: ListWatchOptions<T>) {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    let delay = RETRY_FIRST_MS;
    while (!this.stopped) {
      try {
        const listed = await this.options.list();
        const items = listed.items.flatMap((raw) => {
          const parsed = this.options.schema.safeParse(raw);
          return parsed.success ? [parsed.data] : [];
        });
        await this.options.onSync(items, revisionNumber(listed.resourceVersion), listed.serverTimeMs);
        this.syncedOnce();
        delay = RETRY_FIRST_MS;
        let from = listed.resourceVersion;
        // Re-watch from the last revision seen while the server merely closes the stream.
        for (;;) {
          const ended = await this.watchFrom(from);
          if (this.stopped || ended.error !== undefined || ended.lastResourceVersion === undefined) {
            if (ended.error !== undefined && !this.stopped) this.warn(`watch of ${this.options.what} ended: ${ended.error}; listing again`);
            break;
          }
          from = ended.lastResourceVersion;
        }
      } catch (err) {
        if (this.stopped) break;
        const permanent = err instanceof KubernetesPermanentError;
        this.warn(`${permanent ? '' : 'cannot list '}${this.options.what}: ${errorMessage(err)}; retrying`);
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, delay).unref();
      });
      delay = Math.min(RETRY_MAX_MS, delay * 2);
    }
  }

  /** One watch; resolves when it ends, with the last resourceVersion seen or why it failed. */
  private watchFrom(resourceVersion: string): Promise<{ lastResourceVersion?: string; error?: string }> {
    return new Promise((resolve) => {
      let last: string | undefined = resourceVersion;
      let failure: string | undefined;
      let queue: Promise<void> = Promise.resolve();
      const finish = (err: unknown): void => {
        void queue.then(() => {
          const error = failure ?? (err ? errorMessage(err) : undefined);
          resolve(error === undefined ? { lastResourceVersion: last } : { error });
        });
      };
      const watch = new Watch(this.options.connection.config);
      watch
        .watch(
          this.options.path,
          { ...this.options.query, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_SECONDS },
          (type: string, object: unknown) => {
            const version = (object as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
            if (type === 'ERROR') {
              // Typically 410 Gone: our resourceVersion is older than etcd's compaction.
              failure = `${(object as { message?: string } | undefined)?.message ?? 'watch error'}`;
              this.abort?.abort();
              return;
            }
            if (version) last = version;
            if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
            const parsed = this.options.schema.safeParse(object);
            if (!parsed.success) return;
            // Handlers run in order, one at a time.
            queue = queue.then(() => this.options.onEvent(type, parsed.data, revisionNumber(version))).catch((err: unknown) => {
              this.warn(`handling a ${this.options.what} event failed: ${errorMessage(err)}`);
            });
          },
          finish,
        )
        .then(
          (controller) => {
            this.abort = controller;
            if (this.stopped) controller.abort();
          },
          (err: unknown) => finish(err ?? new Error('watch failed')),
        );
    });
  }

  private warn(line: string): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.options.log(line);
  }
}
