/**
 * A Server-Sent Events subscription that reconnects with exponential backoff (with jitter) until
 * closed. `beforeConnect` runs before every attempt: the host re-registers its proxies there, so a
 * restarted control plane learns them again (same keys, same CSRs).
 */
import http from 'node:http';
import https from 'node:https';
import { errorMessage } from '../mesh/errors';

export interface SseSubscriptionOptions {
  url: string;
  headers: Record<string, string>;
  /** For an https URL: the only CA the control plane's certificate may chain to. */
  ca?: string;
  beforeConnect: () => Promise<void>;
  onEvent: (data: string) => void;
  onConnected?: () => void;
  onDisconnected?: (reason: string) => void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** No byte (not even a keep-alive comment, sent every 15 s) for this long: the link is dead. Default 45 s. */
  idleTimeoutMs?: number;
}

/** Splits an SSE byte stream into events; returns each event's joined `data:` lines. */
export class SseParser {
  private buffered = '';
  private dataLines: string[] = [];

  constructor(private readonly onEvent: (data: string) => void) {}

  push(chunk: string): void {
    this.buffered += chunk;
    for (let newline = this.buffered.indexOf('\n'); newline >= 0; newline = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, newline).replace(/\r$/, '');
      this.buffered = this.buffered.slice(newline + 1);
      if (line === '') {
        if (this.dataLines.length > 0) this.onEvent(this.dataLines.join('\n'));
        this.dataLines = [];
      } else if (line.startsWith('data:')) {
        this.dataLines.push(line.slice(5).replace(/^ /, ''));
      }
      // `event:`, `id:`, `retry:` and `:` comments (keep-alives) carry nothing we need.
    }
  }
}

export class SseSubscription {
  private closed = false;
  private request: http.ClientRequest | undefined;
  private wake: (() => void) | undefined;
  /** No reconnect before this time (a dropped stream held down, as a network partition would). */
  private holdUntil = 0;
  private readonly done: Promise<void>;

  constructor(private readonly options: SseSubscriptionOptions) {
    this.done = this.run();
  }

  /** Drops the current stream and stays away for `holdOffMs`; then reconnects with backoff as after any drop. */
  interrupt(holdOffMs = 0): void {
    this.holdUntil = Date.now() + holdOffMs;
    this.request?.destroy(new Error('stream dropped'));
  }

  /** Ends a hold early: the next attempt starts now. */
  resume(): void {
    this.holdUntil = 0;
    this.wake?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.request?.destroy();
    this.wake?.();
    await this.done;
  }

  private async run(): Promise<void> {
    const initial = this.options.initialBackoffMs ?? 200;
    const max = this.options.maxBackoffMs ?? 5_000;
    let backoff = initial;
    while (!this.closed) {
      let connected = false;
      try {
        await this.options.beforeConnect();
        if (this.closed) break;
        await this.streamOnce(() => {
          connected = true;
          backoff = initial;
          this.options.onConnected?.();
        });
        this.options.onDisconnected?.('stream ended');
      } catch (error) {
        if (this.closed) break;
        this.options.onDisconnected?.(errorMessage(error));
      }
      if (this.closed) break;
      const delay = connected ? initial : backoff;
      backoff = Math.min(max, backoff * 2);
      await this.sleep(delay * (0.8 + Math.random() * 0.4));
      while (!this.closed && Date.now() < this.holdUntil) await this.sleep(this.holdUntil - Date.now());
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Resolves when the server ends the stream, rejects on a connection error or a non-200 answer. */
  private streamOnce(onOpen: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const url = new URL(this.options.url);
      const transport = url.protocol === 'https:' ? https : http;
      const request = transport.get(url, { headers: { ...this.options.headers, accept: 'text/event-stream' }, ...(this.options.ca ? { ca: this.options.ca } : {}) }, (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new Error(`stream answered ${response.statusCode}`));
          return;
        }
        onOpen();
        const parser = new SseParser(this.options.onEvent);
        response.setEncoding('utf8');
        request.setTimeout(this.options.idleTimeoutMs ?? 45_000, () => request.destroy(new Error('stream idle: no keep-alive from the control plane')));
        response.on('data', (chunk: string) => parser.push(chunk));
        response.on('end', () => resolve());
        response.on('error', reject);
        response.on('close', () => resolve());
      });
      request.on('socket', (socket) => socket.setKeepAlive(true, 10_000));
      request.on('error', reject);
      this.request = request;
    });
  }
}
