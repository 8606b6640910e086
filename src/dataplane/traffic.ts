/**
 * Continuous mTLS requests between random pairs of proxies, counting successes and failures by reason.
 * Each loop opens a fresh connection for every 1..maxRequestsPerConnection requests, so handshakes (what
 * a CA rotation can break) happen all the time, while the requests that reuse a connection check that
 * live connections survive a context swap.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { reasonOf } from './failure-reason';
import { MtlsConnection, type MtlsTarget } from './mtls-client';
import type { DataplaneProxy } from './proxy';

export interface TrafficStats {
  requests: number;
  ok: number;
  failed: number;
  failuresByReason: Record<string, number>;
  /** Connections opened (each one a full handshake). */
  connections: number;
}

export interface TrafficOptions {
  /** Concurrent request loops. */
  concurrency?: number;
  /** Upper bound of requests sent over one connection before a new one is opened. */
  maxRequestsPerConnection?: number;
  /** Pause of each loop between two requests: bounds the rate (concurrency / pause). */
  pauseMs?: number;
  timeoutMs?: number;
}

export interface TrafficPair {
  caller: DataplaneProxy;
  target: MtlsTarget;
}

export class TrafficGenerator {
  private readonly counters: TrafficStats = { requests: 0, ok: 0, failed: 0, failuresByReason: {}, connections: 0 };
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly openConnections = new Set<MtlsConnection>();
  private readonly stopped = new AbortController();
  private readonly options: Required<TrafficOptions>;

  /** `pickPair` returns a random caller and target among proxies able to talk, or undefined if none yet. */
  constructor(
    private readonly pickPair: () => TrafficPair | undefined,
    options: TrafficOptions = {},
  ) {
    this.options = { concurrency: 8, maxRequestsPerConnection: 4, pauseMs: 10, timeoutMs: 5_000, ...options };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped.abort();
    for (const connection of this.openConnections) connection.close();
    await Promise.all(this.loops);
  }

  stats(): TrafficStats {
    return { ...this.counters, failuresByReason: { ...this.counters.failuresByReason } };
  }

  private record(failure?: unknown): void {
    // Requests cut short by stop() are not a verdict on the mesh.
    if (!this.running) return;
    this.counters.requests++;
    if (failure === undefined) {
      this.counters.ok++;
      return;
    }
    this.counters.failed++;
    const reason = reasonOf(failure);
    this.counters.failuresByReason[reason] = (this.counters.failuresByReason[reason] ?? 0) + 1;
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopped.signal }).catch(() => undefined);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const pair = this.pickPair();
      if (!pair) {
        await this.pause(50);
        continue;
      }
      let connection: MtlsConnection;
      try {
        connection = await MtlsConnection.open(pair.caller, pair.target, this.options.timeoutMs);
        this.counters.connections++;
      } catch (error) {
        this.record(error);
        await this.pause(this.options.pauseMs);
        continue;
      }
      this.openConnections.add(connection);
      const requests = 1 + Math.floor(Math.random() * this.options.maxRequestsPerConnection);
      for (let i = 0; i < requests && this.running; i++) {
        try {
          await connection.request();
          this.record();
        } catch (error) {
          this.record(error);
          break;
        }
        await this.pause(this.options.pauseMs);
      }
      connection.close();
      this.openConnections.delete(connection);
    }
  }
}
