/**
 * Issuing throughput: what step 2 of a rotation costs per proxy. Each certificate is a full `issue`
 * through the backend's Issuer: parse and verify the proxy's CSR, build and sign the certificate,
 * encode PEM. Proxy keys and CSRs are made beforehand (that is the proxies' work, not the CA's).
 *
 * Prints one JSON line per case. Vault uses VAULT_ADDR / VAULT_TOKEN, or starts an OpenBao dev server.
 * BENCH_CERTIFICATES overrides the count for local backends (default 10000). `npm run bench` runs the
 * same cases through `runIssuanceBench`.
 */
import { randomBytes } from 'node:crypto';
import { caBackendFor } from '../src/ca/registry';
import { LocalCaIssuer } from '../src/ca/local-issuer';
import { MemorySecretStore } from '../src/ca/memory-secret-store';
import type { CaContext, Issuer } from '../src/ca/types';
import { provisionDevPki } from '../src/ca/vault-dev-pki';
import { provideDevBinaries } from '../src/devstack/binaries';
import { startOpenBaoDevServer } from '../src/devstack/openbao';
import type { Backend } from '../src/mesh/schema';
import { generateCa } from '../src/pki/ca-certificate';
import { createCsr } from '../src/pki/csr';
import { ECDSA_P256, KeySpec, generateKeyPair, keySpecName, rsa } from '../src/pki/keys';
import { defaultSigningThreads } from '../src/pki/signing-pool';
import { errorMessage } from '../src/mesh/errors';

const LOCAL_CERTIFICATES = Number(process.env.BENCH_CERTIFICATES ?? 10_000);
const VAULT_CERTIFICATES = 500;
const DISTINCT_CSRS = 1_000;
/** Requests in flight at once, like the control plane's re-issue batches. */
const WINDOW = 1_000;

async function makeCsrs(count: number): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: count }, async () => createCsr((await generateKeyPair()).privateKey)));
}

async function measure(issuer: Issuer, csrs: Buffer[], certificates: number, window = WINDOW): Promise<number> {
  // Warm-up: JIT, worker start-up.
  await Promise.all(csrs.slice(0, 50).map((csrDer) => issuer.issue({ csrDer, service: 'warmup', tags: {} })));
  const started = process.hrtime.bigint();
  for (let done = 0; done < certificates; done += window) {
    const size = Math.min(window, certificates - done);
    await Promise.all(
      Array.from({ length: size }, (_, i) => issuer.issue({ csrDer: csrs[(done + i) % csrs.length] as Buffer, service: `svc-${(done + i) % 100}`, tags: { 'kuma.io/service': `svc-${(done + i) % 100}`, version: 'v1' } })),
    );
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** One JSON line of the issuance benchmark. */
export interface IssuanceRecord {
  bench: 'issue';
  backend: string;
  keyType: string;
  certificates: number;
  seconds: number;
  perSecond: number;
  threads?: number;
  concurrency?: number;
}

export interface IssuanceBenchOptions {
  /** Certificates per local backend case (RSA cases issue at most 3,000). */
  certificates?: number;
  /** Include the Vault case (an OpenBao dev server when VAULT_ADDR / VAULT_TOKEN are not set). Default true. */
  vault?: boolean;
  /** Receives each record as soon as its case ends. Default: print it as a JSON line. */
  emit?: (record: IssuanceRecord) => void;
}

function record(backend: string, keyType: string, certificates: number, seconds: number, extra: { threads?: number; concurrency?: number } = {}): IssuanceRecord {
  return { bench: 'issue', backend, keyType, certificates, seconds: Number(seconds.toFixed(3)), perSecond: Math.round(certificates / seconds), ...extra };
}

async function benchBackend(ctx: CaContext, backend: Backend, keyType: string, csrs: Buffer[], certificates: number, window?: number): Promise<IssuanceRecord> {
  const implementation = caBackendFor(backend.type);
  if (!implementation) throw new Error(`unknown backend ${backend.type}`);
  await implementation.ensure(ctx, backend);
  const issuer = await implementation.openIssuer(ctx, backend);
  try {
    const seconds = await measure(issuer, csrs, certificates, window);
    return record(backend.type, keyType, certificates, seconds, backend.type === 'vault' ? { concurrency: window } : { threads: defaultSigningThreads() });
  } finally {
    await issuer.close?.();
  }
}

async function providedBackend(spec: KeySpec): Promise<Backend> {
  const ca = await generateCa({ commonName: `bench provided ${keySpecName(spec)}`, keySpec: spec });
  return { name: `provided-${keySpecName(spec)}`, type: 'provided', conf: { cert: { inlineString: ca.certificatePem }, key: { inlineString: ca.privateKeyPem } } };
}

async function benchInThread(csrs: Buffer[], certificates: number): Promise<IssuanceRecord> {
  const ca = await generateCa({ commonName: 'bench in-thread', keySpec: ECDSA_P256 });
  const issuer = new LocalCaIssuer('default', ca.certificate, ca.privateKey, [], 24 * 3600_000, { threads: 0 });
  const seconds = await measure(issuer, csrs, certificates);
  return record('builtin', 'ecdsa-p256', certificates, seconds, { threads: 0 });
}

async function vaultConnection(): Promise<{ address: string; token: string; stop?: () => Promise<void> }> {
  if (process.env.VAULT_ADDR && process.env.VAULT_TOKEN) return { address: process.env.VAULT_ADDR, token: process.env.VAULT_TOKEN };
  const { bao } = await provideDevBinaries();
  if (!bao) throw new Error('no OpenBao binary and no VAULT_ADDR/VAULT_TOKEN');
  const server = await startOpenBaoDevServer({ binary: bao });
  return { address: server.address, token: server.token, stop: () => server.stop() };
}

/** Runs every issuance case in turn; the records go to `options.emit` (default: JSON lines on stdout). */
export async function runIssuanceBench(options: IssuanceBenchOptions = {}): Promise<void> {
  const certificates = options.certificates ?? LOCAL_CERTIFICATES;
  const emit = options.emit ?? ((line: IssuanceRecord) => console.log(JSON.stringify(line)));
  const csrs = await makeCsrs(DISTINCT_CSRS);
  const ctx: CaContext = { mesh: 'default', secrets: new MemorySecretStore() };

  emit(await benchBackend(ctx, { name: 'builtin-ec', type: 'builtin' }, 'ecdsa-p256', csrs, certificates));
  emit(await benchInThread(csrs, certificates));
  emit(await benchBackend(ctx, await providedBackend(ECDSA_P256), 'ecdsa-p256', csrs, certificates));
  // RSA CAs for comparison (Kuma's builtin default): far slower to sign, so fewer certificates.
  emit(await benchBackend(ctx, await providedBackend(rsa(2048)), 'rsa-2048', csrs, Math.min(certificates, 3_000)));
  emit(await benchBackend(ctx, { name: 'builtin-rsa', type: 'builtin', conf: { caCert: { RSAbits: 2048 } } }, 'rsa-2048', csrs, Math.min(certificates, 3_000)));

  if (options.vault === false) return;
  const vault = await vaultConnection();
  try {
    const pki = await provisionDevPki({ address: vault.address, token: vault.token, mount: `bench-${randomBytes(4).toString('hex')}`, mesh: 'default' });
    emit(await benchBackend(ctx, pki.backend('vault'), 'ecdsa-p256', csrs, VAULT_CERTIFICATES, 32));
  } finally {
    await vault.stop?.();
  }
}

if (require.main === module) {
  runIssuanceBench().catch((error: unknown) => {
    console.error(errorMessage(error));
    process.exit(1);
  });
}
