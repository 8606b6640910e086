/**
 * One TLS listener for every proxy of a host, routed by SNI: a connection for proxy X is handshaken with
 * X's current SecureContext, so X's certificate is served and the client certificate is verified
 * against X's trust bundle (OpenSSL switches the verify store with the context; a test proves it).
 * After the handshake the peer must also carry a SPIFFE ID of the mesh. A rejected peer gets one line,
 * `ERR <reason>`, and the connection closes: no request of an unverified peer is ever served.
 *
 * Protocol, one line each way per request: `REQ <caller>\n` → `OK <proxy name>\n`.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { SAN_MISMATCH, reasonFromCode } from './failure-reason';
import type { DataplaneProxy } from './proxy';
import { isWorkloadOfMesh } from './spiffe';

const MAX_LINE_BYTES = 1024;
/** A handshake still running after this long is dropped: a stalled peer must not hold up the proxy's acks. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface MtlsListenerEvents {
  rejected: [reason: string];
}

export class MtlsListener extends EventEmitter<MtlsListenerEvents> {
  private readonly server: tls.Server;
  private readonly sockets = new Set<tls.TLSSocket>();
  /** Handshakes or peers refused, by reason (the server's view; callers see theirs in the traffic stats). */
  readonly rejectionsByReason: Record<string, number> = {};

  constructor(private readonly proxyByServerName: (serverName: string) => DataplaneProxy | undefined) {
    super();
    this.server = tls.createServer({
      requestCert: true,
      // Verification still runs; the verdict is enforced below so the peer learns why it was refused.
      rejectUnauthorized: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // Node calls it on the server-side TLSSocket (`this`), which tells when the handshake is over.
      SNICallback: function (this: unknown, serverName, done) {
        const proxy = proxyByServerName(serverName);
        const handshake = proxy?.hasCertificate ? proxy.beginHandshake() : undefined;
        if (!handshake) {
          done(new Error(`no proxy with a certificate serves ${serverName}`));
          return;
        }
        if (this instanceof tls.TLSSocket) {
          this.once('secure', handshake.end);
          this.once('close', handshake.end);
        } else {
          handshake.end();
        }
        done(null, handshake.tls.secureContext);
      },
    });
    this.server.on('secureConnection', (socket) => this.onSecureConnection(socket));
    this.server.on('tlsClientError', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      // A caller that went away mid-handshake (stopped, timed out) was not refused by us.
      if (code === 'ECONNRESET' || code === 'EPIPE' || error.message === 'socket hang up') return;
      this.reject(reasonFromCode(code ?? error.message));
    });
  }

  async listen(host = '127.0.0.1', port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private reject(reason: string): void {
    this.rejectionsByReason[reason] = (this.rejectionsByReason[reason] ?? 0) + 1;
    this.emit('rejected', reason);
  }

  private onSecureConnection(socket: tls.TLSSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const proxy = this.proxyByServerName(String(socket.servername));
    const refusal = !proxy
      ? 'unknown server name'
      : !socket.authorized
        ? reasonFromCode(String(socket.authorizationError))
        : !isWorkloadOfMesh(socket.getPeerX509Certificate(), proxy.descriptor.mesh)
          ? SAN_MISMATCH
          : undefined;
    if (refusal || !proxy) {
      this.reject(refusal ?? 'unknown server name');
      socket.end(`ERR ${refusal}\n`);
      return;
    }
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        socket.write(line.startsWith('REQ') ? `OK ${proxy.name}\n` : 'ERR bad request\n');
      }
      if (buffered.length > MAX_LINE_BYTES) socket.destroy();
    });
  }
}
