/**
 * `vault` (Kong Mesh): identity certificates are signed by a Vault (or OpenBao) PKI secrets engine with
 * `POST <pki>/sign/<role>`: the proxy's CSR goes to Vault, never `<pki>/issue`, so Vault never
 * generates (or sees) a proxy's private key.
 */
import type { Backend } from '../mesh/schema';
import type { Issues } from '../mesh/validate-issues';
import { CertificateInfo, isSelfSigned, parseCertificateChainPem } from '../pki/certificate';
import { createCsr, csrToPem } from '../pki/csr';
import { identityUris } from '../pki/identity';
import { generateKeyPair } from '../pki/keys';
import { toPem } from '../pki/pem';
import { CaConfigError, CaError, CaRequestError, CaUnavailableError } from './errors';
import { leafValidityMs } from './leaf-validity';
import { CaBackend, CaContext, IdentityRequest, IssuedIdentity, Issuer } from './types';
import { VaultClient } from './vault-client';
import { VaultSettings, loadVaultSettings, renderCommonName } from './vault-settings';
import { errorMessage } from '../mesh/errors';

async function connect(ctx: CaContext, backend: Backend): Promise<{ client: VaultClient; settings: VaultSettings }> {
  const { settings, errors, transient } = await loadVaultSettings(ctx, backend);
  const first = errors[0];
  if (first || !settings) {
    const message = `backend "${backend.name}": ${first ? `${first.path}: ${first.message}` : 'invalid vault configuration'}`;
    throw transient ? new CaUnavailableError(message, { path: first?.path }) : new CaConfigError(message, { path: first?.path });
  }
  return { client: new VaultClient(settings), settings };
}

function pemText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object') {
    const data = (body as { data?: { certificate?: unknown; ca_chain?: unknown } }).data;
    if (Array.isArray(data?.ca_chain)) return data.ca_chain.join('\n');
    if (typeof data?.certificate === 'string') return data.certificate;
  }
  return '';
}

/** The CA chain of the mount (`<pki>/ca_chain`, or `<pki>/ca/pem` for a root mount whose chain is empty). */
async function readRoots(client: VaultClient, settings: VaultSettings): Promise<CertificateInfo[]> {
  let chain = parseCertificateChainPem(pemText(await client.read(`${settings.pki}/ca_chain`, `read ${settings.pki}/ca_chain`)));
  if (chain.length === 0) chain = parseCertificateChainPem(pemText(await client.read(`${settings.pki}/ca/pem`, `read ${settings.pki}/ca/pem`)));
  if (chain.length === 0) throw new CaConfigError(`the PKI mount "${settings.pki}" has no CA certificate`);
  return chain;
}

class VaultIssuer implements Issuer {
  constructor(
    private readonly mesh: string,
    private readonly client: VaultClient,
    private readonly settings: VaultSettings,
    private readonly validityMs: number,
  ) {}

  async issue(request: IdentityRequest): Promise<IssuedIdentity> {
    const uris = identityUris(this.mesh, request.service, request.tags);
    const body: Record<string, unknown> = {
      csr: csrToPem(request.csrDer),
      uri_sans: uris,
      ttl: `${Math.max(1, Math.floor(this.validityMs / 1000))}s`,
      format: 'pem',
    };
    if (this.settings.commonName) body.common_name = renderCommonName(this.settings.commonName, { ...request.tags, 'kuma.io/service': request.service });
    let response: Record<string, unknown>;
    try {
      response = await this.client.write(`${this.settings.pki}/sign/${this.settings.role}`, body, `sign a certificate with role "${this.settings.role}"`);
    } catch (error) {
      // 400: a bad CSR or an identity the role does not allow. Retrying this request will not help.
      if (error instanceof CaError && error.status === 400) throw new CaRequestError(error.message, { status: 400, upstreamErrors: error.upstreamErrors });
      throw error;
    }
    const data = (response.data ?? {}) as { certificate?: unknown; issuing_ca?: unknown; ca_chain?: unknown };
    if (typeof data.certificate !== 'string') throw new CaUnavailableError('Vault answered the sign request without a certificate');
    const [leaf] = parseCertificateChainPem(data.certificate);
    const issuing = typeof data.issuing_ca === 'string' ? parseCertificateChainPem(data.issuing_ca)[0] : undefined;
    if (!leaf || !issuing) throw new CaUnavailableError('Vault answered the sign request with an unreadable certificate');
    const caChain = Array.isArray(data.ca_chain) ? data.ca_chain.filter((c): c is string => typeof c === 'string').flatMap((c) => parseCertificateChainPem(c)) : [issuing];
    return {
      certificatePem: toPem('CERTIFICATE', leaf.der),
      chainPem: caChain.filter((c) => !isSelfSigned(c)).map((c) => toPem('CERTIFICATE', c.der)),
      issuerFingerprint: issuing.fingerprint,
      expiresAt: leaf.notAfter.toISOString(),
    };
  }
}

/**
 * Vault did not answer (unreachable, 5xx, 429): validation cannot conclude either way, so this is no
 * finding but a transient failure, thrown at the field that names the server (errors.ts).
 */
function rethrowIfUnavailable(error: unknown): void {
  if (error instanceof CaUnavailableError) {
    throw new CaUnavailableError(error.message, { path: error.path ?? 'conf.fromCp.address', status: error.status, upstreamErrors: error.upstreamErrors });
  }
}

/** Live checks, in order; later ones are skipped once an earlier one fails (they would only repeat it). */
async function validateLive(ctx: CaContext, backend: Backend, settings: VaultSettings, issues: Issues): Promise<void> {
  const base = issues.at('conf', 'fromCp');
  const client = new VaultClient(settings);

  if (!settings.viaAgent) {
    try {
      await client.lookupSelf();
    } catch (error) {
      rethrowIfUnavailable(error);
      const status = error instanceof CaError ? error.status : undefined;
      const at = status === undefined ? base.at('address') : settings.tokenPath === 'VAULT_TOKEN' ? base.at('auth') : issues.at(settings.tokenPath);
      at.error(status === 403 ? 'Vault rejected the credentials (permission denied): the token is invalid or expired' : errorMessage(error));
      return;
    }
  }

  try {
    const role = (await client.read(`${settings.pki}/roles/${settings.role}`, `read role "${settings.role}"`)) as { data?: { max_ttl?: unknown } };
    const maxTtlSeconds = Number(role.data?.max_ttl ?? 0);
    const validityMs = leafValidityMs(backend);
    if (maxTtlSeconds > 0 && validityMs > maxTtlSeconds * 1000) {
      issues.error(`certificates would live ${validityMs / 1000}s but role "${settings.role}" allows at most max_ttl=${maxTtlSeconds}s`, 'dpCert', 'rotation', 'expiration');
    }
  } catch (error) {
    rethrowIfUnavailable(error);
    const status = error instanceof CaError ? error.status : undefined;
    if (status === 404) {
      const noMount = error instanceof CaError && error.upstreamErrors.some((e) => e.includes('no handler for route'));
      if (noMount) base.error(`no PKI secrets engine is mounted at "${settings.pki}"`, 'pki');
      else base.error(`role "${settings.role}" does not exist in "${settings.pki}"`, 'role');
      return;
    }
    if (status === 403) base.warn(`cannot read role "${settings.role}" (permission denied): its max_ttl was not checked`, 'role');
    else {
      base.error(errorMessage(error), 'address');
      return;
    }
  }

  try {
    const { privateKey } = await generateKeyPair();
    const issuer = new VaultIssuer(ctx.mesh, client, settings, leafValidityMs(backend));
    const service = 'mesh-ca-rotator-preflight';
    const issued = await issuer.issue({ csrDer: createCsr(privateKey, { commonName: service }), service, tags: { 'kuma.io/service': service } });
    const [leaf] = parseCertificateChainPem(issued.certificatePem);
    const spiffe = identityUris(ctx.mesh, service, {})[0] as string;
    if (!leaf?.uris.includes(spiffe)) base.error(`role "${settings.role}" signed a test certificate without the URI SAN ${spiffe}: the role must allow it (allowed_uri_sans) and take SANs from the request (use_csr_sans=false)`, 'role');
  } catch (error) {
    rethrowIfUnavailable(error);
    base.error(`a test signing failed: ${errorMessage(error)}`, 'role');
    return;
  }

  try {
    await readRoots(client, settings);
  } catch (error) {
    rethrowIfUnavailable(error);
    base.error(`cannot read the CA chain: ${errorMessage(error)}`, 'pki');
  }
}

export const vaultBackend: CaBackend = {
  type: 'vault',

  async validate(ctx, backend, issues) {
    const { settings, errors, transient } = await loadVaultSettings(ctx, backend);
    const first = errors[0];
    // A secret store that did not answer: the conf may well be right, so no finding (see connect()).
    if (transient && first) throw new CaUnavailableError(first.message, { path: first.path });
    for (const error of errors) issues.error(error.message, error.path);
    if (settings && errors.length === 0) await validateLive(ctx, backend, settings, issues);
  },

  async ensure(ctx, backend) {
    const { client, settings } = await connect(ctx, backend);
    await readRoots(client, settings);
  },

  async rootCertificates(ctx, backend) {
    const { client, settings } = await connect(ctx, backend);
    return (await readRoots(client, settings)).map((c) => toPem('CERTIFICATE', c.der));
  },

  async openIssuer(ctx, backend) {
    const { client, settings } = await connect(ctx, backend);
    return new VaultIssuer(ctx.mesh, client, settings, leafValidityMs(backend));
  },
};
