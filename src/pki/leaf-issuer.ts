/**
 * Issues identity certificates from a CA key held in this process (builtin and provided backends).
 * Concurrent `issue` calls are gathered per event-loop turn; small batches are signed in this thread,
 * large ones on a pool of worker threads (see signing-pool.ts for the numbers behind that).
 */
import { KeyObject } from 'node:crypto';
import { CertificateInfo } from './certificate';
import { CsrError, ParsedCsr, csrSignatureValid, parseCsr } from './csr';
import { LeafSigner, SignedLeaf } from './identity';
import { SigningJob, SigningPool, defaultSigningThreads } from './signing-pool';

export interface LeafIssuerOptions {
  /** Worker threads for large batches; 0 signs everything in this thread. Default: one per core. */
  threads?: number;
  /** Batches at least this big go to the workers (spawning them on first use). */
  poolThreshold?: number;
  /** Jobs per message to a worker. */
  batchSize?: number;
}

export interface LeafIssueRequest {
  /** PKCS#10, DER. */
  csrDer: Buffer;
  uris: readonly string[];
  validityMs: number;
}

interface Queued {
  request: LeafIssueRequest;
  resolve: (leaf: SignedLeaf) => void;
  reject: (error: Error) => void;
}

export class LeafIssuer {
  private readonly signer: LeafSigner;
  private readonly threads: number;
  private readonly poolThreshold: number;
  private readonly batchSize: number;
  private pool: SigningPool | undefined;
  private queue: Queued[] = [];
  private flushScheduled = false;

  constructor(
    readonly ca: CertificateInfo,
    private readonly caKey: KeyObject,
    options: LeafIssuerOptions = {},
  ) {
    this.signer = new LeafSigner(ca, caKey);
    this.threads = options.threads ?? defaultSigningThreads();
    this.poolThreshold = options.poolThreshold ?? 16;
    this.batchSize = options.batchSize ?? 64;
  }

  /** Verifies the CSR and signs a certificate for it. Rejects with CsrError when the CSR is bad. */
  issue(request: LeafIssueRequest): Promise<SignedLeaf> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  private flush(): void {
    this.flushScheduled = false;
    const queued = this.queue;
    this.queue = [];
    const useWorkers = this.threads > 0 && queued.length >= this.poolThreshold;
    const ready: { item: Queued; csr: ParsedCsr }[] = [];
    for (const item of queued) {
      try {
        ready.push({ item, csr: parseCsr(item.request.csrDer) });
      } catch (error) {
        item.reject(error as Error);
      }
    }
    if (!useWorkers) {
      for (const { item, csr } of ready) this.signHere(item, csr);
      return;
    }
    this.pool ??= new SigningPool(this.caKey, this.signer.signatureDigest, this.threads);
    // Batches run side by side; signOnWorkers never rejects (it settles each item's own promise).
    for (let i = 0; i < ready.length; i += this.batchSize) void this.signOnWorkers(this.pool, ready.slice(i, i + this.batchSize));
  }

  private signHere(item: Queued, csr: ParsedCsr): void {
    if (!csrSignatureValid(csr)) {
      item.reject(new CsrError('the CSR signature does not verify'));
      return;
    }
    try {
      item.resolve(this.signer.sign({ csr, uris: item.request.uris, validityMs: item.request.validityMs }));
    } catch (error) {
      item.reject(error as Error);
    }
  }

  private async signOnWorkers(pool: SigningPool, batch: { item: Queued; csr: ParsedCsr }[]): Promise<void> {
    try {
      const built = batch.map(({ item, csr }) => this.signer.buildTbs({ csr, uris: item.request.uris, validityMs: item.request.validityMs }));
      const jobs: SigningJob[] = batch.map(({ csr }, i) => ({
        csrSignedData: csr.signedData,
        csrSignature: csr.signature,
        csrDigest: csr.digest,
        csrPublicKey: csr.publicKey,
        tbs: (built[i] as { tbs: Buffer }).tbs,
      }));
      const results = await pool.run(jobs);
      results.forEach((result, i) => {
        const { item } = batch[i] as { item: Queued };
        const { tbs, notAfter } = built[i] as { tbs: Buffer; notAfter: Date };
        if ('error' in result) item.reject(new CsrError(result.error));
        else item.resolve({ der: this.signer.assemble(tbs, result.signature), notAfter });
      });
    } catch (error) {
      for (const { item } of batch) item.reject(error as Error);
    }
  }
}
