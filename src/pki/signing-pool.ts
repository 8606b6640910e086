/**
 * Worker threads that do the expensive half of issuing: import the requester's public key, verify the
 * CSR signature, sign the TBSCertificate. The main thread does the cheap DER work. Most of the cost is
 * OpenSSL 3 importing the proxy's public key, then verifying; signing is the smallest part
 * (figures in docs/performance.md).
 *
 * The worker is an inline CommonJS script that uses node:crypto only, so it runs the same under tsx,
 * jest's SWC transform and compiled JavaScript.
 */
import { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PublicKeyInput } from './csr';

export interface SigningJob {
  csrSignedData: Buffer;
  csrSignature: Buffer;
  csrDigest: string | null;
  csrPublicKey: PublicKeyInput;
  tbs: Buffer;
}

export type SigningResult = { signature: Buffer } | { error: string };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPrivateKey, createPublicKey, sign, verify } = require('node:crypto');
const caKey = createPrivateKey({ key: Buffer.from(workerData.caKeyDer), format: 'der', type: 'pkcs8' });
const digest = workerData.digest;
function run(job) {
  let valid = false;
  try {
    valid = verify(job.csrDigest, job.csrSignedData, createPublicKey(job.csrPublicKey), job.csrSignature);
  } catch (_) {
    valid = false;
  }
  if (!valid) return { error: 'the CSR signature does not verify' };
  return { signature: sign(digest, job.tbs, caKey) };
}
parentPort.on('message', (batch) => {
  parentPort.postMessage({ id: batch.id, results: batch.jobs.map(run) });
});
`;

interface PendingBatch {
  resolve: (results: SigningResult[]) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  inFlight: number;
}

export function defaultSigningThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}

export class SigningPool {
  private readonly workers: PoolWorker[] = [];
  private readonly pending = new Map<number, PendingBatch>();
  private nextId = 1;
  private closed = false;

  constructor(caKey: KeyObject, digest: string | null, threads = defaultSigningThreads()) {
    // The key travels as PKCS#8 DER in workerData: in-process memory, never logged.
    const caKeyDer = caKey.export({ format: 'der', type: 'pkcs8' });
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { caKeyDer, digest } });
      const entry: PoolWorker = { worker, inFlight: 0 };
      worker.unref(); // idle workers must not keep the process alive; ref'd while a batch is in flight
      worker.on('message', (message: { id: number; results: SigningResult[] }) => this.settle(entry, message));
      worker.on('error', (error) => this.fail(error));
      this.workers.push(entry);
    }
  }

  /** Signs a batch on the least busy worker. Results are in job order. */
  run(jobs: SigningJob[]): Promise<SigningResult[]> {
    if (this.closed) return Promise.reject(new Error('signing pool is closed'));
    const entry = this.workers.reduce((best, w) => (w.inFlight < best.inFlight ? w : best));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (entry.inFlight++ === 0) entry.worker.ref();
      entry.worker.postMessage({ id, jobs });
    });
  }

  get threads(): number {
    return this.workers.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.fail(new Error('signing pool closed'));
  }

  private settle(entry: PoolWorker, message: { id: number; results: SigningResult[] }): void {
    if (--entry.inFlight === 0) entry.worker.unref();
    const batch = this.pending.get(message.id);
    if (!batch) return;
    this.pending.delete(message.id);
    batch.resolve(
      message.results.map((result) =>
        'signature' in result ? { signature: Buffer.from(result.signature.buffer, result.signature.byteOffset, result.signature.byteLength) } : result,
      ),
    );
  }

  private fail(error: Error): void {
    for (const batch of this.pending.values()) batch.reject(error);
    this.pending.clear();
  }
}
