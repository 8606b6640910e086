/**
 * Collects acks of many proxies and sends them in one `POST /dp/v1/acks` per interval. Only the newest
 * ack of each proxy is kept; one batch is in flight at a time, so acks arrive in order. A failed batch
 * is retried (unless a newer ack of the same proxy superseded it) with backoff.
 */
import type { ProxyAckMessage } from '../mesh/dataplane-api';

export interface AckBatcherOptions {
  send: (acks: ProxyAckMessage[]) => Promise<void>;
  onDelivered: (acks: ProxyAckMessage[]) => void;
  onError?: (error: unknown) => void;
  intervalMs?: number;
  maxBatchSize?: number;
  maxRetryDelayMs?: number;
}

export class AckBatcher {
  private pending = new Map<string, ProxyAckMessage>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private retryDelayMs: number;
  private stopped = false;

  constructor(private readonly options: AckBatcherOptions) {
    this.retryDelayMs = options.intervalMs ?? 100;
  }

  enqueue(ack: ProxyAckMessage): void {
    this.pending.set(`${ack.mesh}/${ack.name}`, ack);
    this.schedule(this.options.intervalMs ?? 100);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.inFlight || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.flush().finally(() => {
        this.inFlight = undefined;
        if (this.pending.size > 0) this.schedule(this.retryDelayMs);
      });
    }, delayMs);
  }

  private async flush(): Promise<void> {
    const interval = this.options.intervalMs ?? 100;
    const maxBatch = this.options.maxBatchSize ?? 1_000;
    while (this.pending.size > 0 && !this.stopped) {
      const batch = [...this.pending.values()].slice(0, maxBatch);
      for (const ack of batch) this.pending.delete(`${ack.mesh}/${ack.name}`);
      try {
        await this.options.send(batch);
        this.retryDelayMs = interval;
        this.options.onDelivered(batch);
      } catch (error) {
        for (const ack of batch) {
          const key = `${ack.mesh}/${ack.name}`;
          if (!this.pending.has(key)) this.pending.set(key, ack);
        }
        this.retryDelayMs = Math.min(this.options.maxRetryDelayMs ?? 5_000, this.retryDelayMs * 2);
        this.options.onError?.(error);
        return;
      }
    }
  }
}
