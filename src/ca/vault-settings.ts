/**
 * The vault backend's configuration (Kong Mesh `conf.fromCp`), read with the one VaultConfSchema and
 * loaded: data sources read, VAULT_ADDR / VAULT_TOKEN defaults applied. Never throws for bad input;
 * the token and keys it loads never appear in a finding. Paths are relative to the backend.
 */
import { VaultConfSchema } from '../mesh/backends/vault';
import type { Backend, ValidationIssue } from '../mesh/schema';
import { loadDataSource, type Loaded } from './data-source';
import type { CaContext } from './types';

export interface VaultSettings {
  address: string;
  /** Set when requests go through a local Vault agent, which authenticates for us. */
  viaAgent: boolean;
  namespace?: string;
  pki: string;
  role: string;
  /** Kong Mesh template, e.g. `{{ tag "kuma.io/service" }}.mesh`. */
  commonName?: string;
  tls: { caCertPem?: string; skipVerify: boolean; serverName?: string };
  auth: { token?: string; clientCertPem?: string; clientKeyPem?: string };
  /** Path of the data source the token came from, for messages about it. */
  tokenPath: string;
}

export interface LoadedVaultSettings {
  settings?: VaultSettings;
  errors: ValidationIssue[];
  /** A secret could not be read because the store did not answer: worth retrying. */
  transient: boolean;
}

const BASE = 'conf.fromCp';

export async function loadVaultSettings(ctx: CaContext, backend: Backend): Promise<LoadedVaultSettings> {
  const errors: ValidationIssue[] = [];
  let transient = false;
  const loaded = (result: Loaded): Buffer | undefined => {
    if (result.ok) return result.data;
    errors.push(result.issue);
    transient ||= result.transient;
    return undefined;
  };
  const parsed = VaultConfSchema.safeParse(backend.conf ?? {});
  const fromCp = parsed.success ? parsed.data.fromCp : undefined;
  if (!fromCp) return { errors: [{ path: BASE, message: 'a vault backend needs conf.fromCp with pki and role' }], transient };

  const agentAddress = fromCp.agentAddress || undefined;
  const address = agentAddress ?? (fromCp.address || ctx.vaultDefaults?.address);
  if (!address) errors.push({ path: `${BASE}.address`, message: 'the Vault address is missing (set conf.fromCp.address or VAULT_ADDR)' });
  else if (!/^https?:\/\/[^/\s]+/.test(address)) errors.push({ path: `${BASE}.${agentAddress ? 'agentAddress' : 'address'}`, message: `"${address}" is not an http(s) URL` });
  if (!fromCp.pki) errors.push({ path: `${BASE}.pki`, message: 'the PKI secrets engine mount path is missing' });
  if (!fromCp.role) errors.push({ path: `${BASE}.role`, message: 'the PKI role is missing' });

  const caCertPem = fromCp.tls?.caCert ? loaded(await loadDataSource(ctx, fromCp.tls.caCert, `${BASE}.tls.caCert`, 'the Vault server CA certificate'))?.toString('utf8') : undefined;

  const authConf = fromCp.auth ?? {};
  const auth: VaultSettings['auth'] = {};
  let tokenPath = `${BASE}.auth.token`;
  if (authConf.token) {
    const token = loaded(await loadDataSource(ctx, authConf.token, tokenPath, 'the Vault token'));
    if (token) auth.token = token.toString('utf8').trim();
    if (token && !auth.token) errors.push({ path: tokenPath, message: 'the Vault token is empty' });
  } else if (authConf.tls) {
    auth.clientKeyPem = loaded(await loadDataSource(ctx, authConf.tls.clientKey, `${BASE}.auth.tls.clientKey`, 'the client private key'))?.toString('utf8');
    auth.clientCertPem = loaded(await loadDataSource(ctx, authConf.tls.clientCert, `${BASE}.auth.tls.clientCert`, 'the client certificate'))?.toString('utf8');
    tokenPath = `${BASE}.auth.tls`;
  } else if (authConf.aws) {
    errors.push({ path: `${BASE}.auth.aws`, message: 'AWS IAM authentication is not supported by mesh-ca-rotator: use auth.token or auth.tls' });
  } else if (ctx.vaultDefaults?.token && !agentAddress && sameVault(address, ctx.vaultDefaults.address)) {
    auth.token = ctx.vaultDefaults.token;
    tokenPath = 'VAULT_TOKEN';
  } else if (ctx.vaultDefaults?.token && !agentAddress) {
    // The operator's token goes only to the operator's Vault, never to an address a Mesh names.
    errors.push({ path: `${BASE}.auth`, message: 'a Vault address set in the Mesh needs its own credentials (auth.token or auth.tls): VAULT_TOKEN is only sent to VAULT_ADDR' });
  } else if (!agentAddress) {
    errors.push({ path: `${BASE}.auth`, message: 'no Vault credentials: set conf.fromCp.auth.token or auth.tls (or VAULT_TOKEN)' });
  }

  if (errors.length > 0 || !address || !fromCp.pki || !fromCp.role) return { errors, transient };
  return {
    errors,
    transient,
    settings: {
      address: address.replace(/\/+$/, ''),
      viaAgent: agentAddress !== undefined,
      namespace: fromCp.namespace || undefined,
      pki: fromCp.pki.replace(/^\/+|\/+$/g, ''),
      role: fromCp.role,
      commonName: fromCp.commonName || undefined,
      tls: { caCertPem, skipVerify: fromCp.tls?.skipVerify === true, serverName: fromCp.tls?.serverName || undefined },
      auth,
      tokenPath,
    },
  };
}

function sameVault(address: string | undefined, defaultAddress: string | undefined): boolean {
  const normalize = (a: string | undefined) => a?.trim().replace(/\/+$/, '').toLowerCase();
  return address !== undefined && normalize(address) === normalize(defaultAddress);
}

/** Renders Kong Mesh's commonName template: `{{ tag "name" }}` becomes the proxy's tag value. */
export function renderCommonName(template: string, tags: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{\s*tag\s+"([^"]+)"\s*\}\}/g, (_, name: string) => tags[name] ?? '');
}
