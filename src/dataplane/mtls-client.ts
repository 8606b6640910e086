/**
 * The calling side: a proxy opens an mTLS connection to another proxy with its own current context
 * (its certificate as client certificate, its trust bundle to verify the server) and checks that the
 * server is exactly the SPIFFE ID it meant to call.
 */
import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { RequestFailure, SAN_MISMATCH_CODE, reasonOf } from './failure-reason';
import type { DataplaneProxy } from './proxy';
import { uriSubjectAltNames } from './spiffe';

export interface MtlsTarget {
  port: number;
  serverName: string;
  /** `spiffe://<mesh>/<service>` the server's certificate must carry. */
  expectedSpiffeId: string;
}

export class MtlsConnection {
  private buffered = '';
  private waiting: { resolve: (line: string) => void; reject: (error: Error) => void } | undefined;
  private closedWith: Error | undefined;
  private readonly peer: X509Certificate | undefined;

  private constructor(
    private readonly socket: tls.TLSSocket,
    private readonly callerName: string,
    private readonly timeoutMs: number,
  ) {
    this.peer = socket.getPeerX509Certificate();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      const newline = this.buffered.indexOf('\n');
      if (newline < 0 || !this.waiting) return;
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting.resolve(line);
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new RequestFailure('connection closed before response')));
  }

  /** Completes the handshake or rejects with the reason it failed (unknown authority, SAN mismatch, ...). */
  static open(caller: DataplaneProxy, target: MtlsTarget, timeoutMs = 5_000): Promise<MtlsConnection> {
    const handshake = caller.beginHandshake();
    if (!handshake?.tls.certificate) {
      handshake?.end();
      return Promise.reject(new RequestFailure('caller has no certificate'));
    }
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: target.port,
        servername: target.serverName,
        secureContext: handshake.tls.secureContext,
        rejectUnauthorized: true,
        checkServerIdentity: (_host, certificate) => {
          if (uriSubjectAltNames(certificate.subjectaltname).includes(target.expectedSpiffeId)) return undefined;
          return Object.assign(new Error(`server is not ${target.expectedSpiffeId}`), { code: SAN_MISMATCH_CODE });
        },
      });
      const timer = setTimeout(() => socket.destroy(new RequestFailure('handshake timeout')), timeoutMs);
      const onError = (error: Error) => {
        clearTimeout(timer);
        handshake.end();
        reject(new RequestFailure(reasonOf(error)));
      };
      const onClose = () => onError(new RequestFailure('connection closed during handshake'));
      socket.once('error', onError);
      socket.once('close', onClose);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        handshake.end();
        socket.off('error', onError);
        socket.off('close', onClose);
        resolve(new MtlsConnection(socket, caller.name, timeoutMs));
      });
    });
  }

  /** One request/response round trip; rejects with a RequestFailure naming the reason. */
  async request(): Promise<void> {
    if (this.closedWith) throw this.closedWith;
    const refusal = this.serverRefusal();
    if (refusal) throw refusal;
    if (this.waiting) throw new Error('one request at a time per connection');
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new RequestFailure('response timeout')), this.timeoutMs);
      this.waiting = {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
      this.socket.write(`REQ ${this.callerName}\n`);
    });
    if (line.startsWith('OK ')) return;
    if (line.startsWith('ERR ')) throw new RequestFailure(`rejected by server: ${line.slice(4)}`);
    throw new RequestFailure('malformed response');
  }

  /** The server's leaf certificate, as this connection saw it at its handshake. */
  peerCertificate(): X509Certificate | undefined {
    return this.peer;
  }

  close(): void {
    this.closedWith ??= new RequestFailure('connection closed');
    this.socket.destroy();
  }

  /** An `ERR` line the server sent before we asked anything (it refused us right after the handshake). */
  private serverRefusal(): RequestFailure | undefined {
    const newline = this.buffered.indexOf('\n');
    if (!this.buffered.startsWith('ERR ') || newline < 0) return undefined;
    return new RequestFailure(`rejected by server: ${this.buffered.slice(4, newline)}`);
  }

  private fail(error: Error): void {
    // A server that refuses us writes `ERR <reason>` and closes: its reason beats "connection closed".
    const failure = this.serverRefusal() ?? (error instanceof RequestFailure ? error : new RequestFailure(reasonOf(error)));
    this.closedWith ??= failure;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(failure);
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
