/**
 * One interface for every CA backend type, in the shape of Kuma's CA manager: validate a backend,
 * ensure it exists (builtin creates and stores its CA once), return its roots, and issue identity
 * certificates by signing a proxy's CSR (proxies keep their private keys).
 */
import type { Backend, BackendType } from '../mesh/schema';
import type { Issues } from '../mesh/validate-issues';

/** Where backends find (and builtin stores) secret data. Values are raw bytes, already base64-decoded. */
export interface SecretStore {
  get(mesh: string, name: string): Promise<Buffer | undefined>;
  /** Creates the secret only if absent; returns what is stored afterwards (first writer wins). */
  putIfAbsent(mesh: string, name: string, data: Buffer): Promise<Buffer>;
}

export interface CaContext {
  mesh: string;
  secrets: SecretStore;
  /** Vault connection defaults when the backend's conf leaves them out (VAULT_ADDR / VAULT_TOKEN). */
  vaultDefaults?: { address?: string; token?: string };
}

export interface IdentityRequest {
  /** PKCS#10 CSR, DER. Its signature is verified before anything is signed. */
  csrDer: Buffer;
  /** The `kuma.io/service` tag value: becomes spiffe://<mesh>/<service>. */
  service: string;
  /** Every tag of the proxy: becomes kuma://<tag>/<value> URI SANs. */
  tags: Record<string, string>;
}

export interface IssuedIdentity {
  /** The leaf certificate, PEM. */
  certificatePem: string;
  /** Intermediates between the leaf and a root, PEM, closest first (may be empty). */
  chainPem: string[];
  /** SHA-256 fingerprint (hex, lower case) of the certificate that signed the leaf. */
  issuerFingerprint: string;
  /** NotAfter of the leaf, ISO 8601. */
  expiresAt: string;
}

/** A backend ready to issue: keys parsed once, so issuing many certificates is cheap. */
export interface Issuer {
  issue(request: IdentityRequest): Promise<IssuedIdentity>;
  /** Releases what the issuer holds (signing worker threads, HTTP agents). Safe to call twice. */
  close?(): Promise<void>;
}

export interface CaBackend {
  readonly type: BackendType;
  /**
   * The checks that need crypto, secrets or the network (a vault test issue included), reported to
   * `issues` relative to the backend (`conf.cert`); the caller roots them at `mtls.backends[i]`. The
   * static rules of src/mesh/backends are the mesh validator's. Never throws on bad input.
   */
  validate(ctx: CaContext, backend: Backend, issues: Issues): Promise<void>;
  /** Makes the backend usable: builtin generates and stores its CA on first call; others check reachability. */
  ensure(ctx: CaContext, backend: Backend): Promise<void>;
  /** Root certificates (PEM) a proxy must trust for certificates of this backend. */
  rootCertificates(ctx: CaContext, backend: Backend): Promise<string[]>;
  /** An issuer for this backend; callers cache it per backend definition. */
  openIssuer(ctx: CaContext, backend: Backend): Promise<Issuer>;
}

export { CaConfigError, CaError, CaRequestError, CaUnavailableError, isRetryableCaFailure, type CaErrorDetails } from './errors';
