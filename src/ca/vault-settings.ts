/**
 * The vault backend's configuration (Kong Mesh `conf.fromCp`), loaded: data sources read, defaults
 * applied. Never throws; the token and keys it loads never appear in an issue.
 */
import type { Backend, ValidationIssue } from '../mesh/schema';
import { loadDataSource } from './data-source';
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

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalString = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

export async function loadVaultSettings(ctx: CaContext, backend: Backend, pathPrefix: string): Promise<{ settings?: VaultSettings; errors: ValidationIssue[] }> {
  const errors: ValidationIssue[] = [];
  const base = `${pathPrefix}.conf.fromCp`;
  const fromCp = backend.conf?.fromCp;
  if (!isObj(fromCp)) return { errors: [{ path: base, message: 'a vault backend needs conf.fromCp with address, pki, role and auth' }] };

  const agentAddress = optionalString(fromCp.agentAddress);
  const address = agentAddress ?? optionalString(fromCp.address) ?? ctx.vaultDefaults?.address;
  if (!address) errors.push({ path: `${base}.address`, message: 'the Vault address is missing (set conf.fromCp.address or VAULT_ADDR)' });
  else if (!/^https?:\/\/[^/\s]+/.test(address)) errors.push({ path: `${base}.${agentAddress ? 'agentAddress' : 'address'}`, message: `"${address}" is not an http(s) URL` });
  const pki = optionalString(fromCp.pki);
  if (!pki) errors.push({ path: `${base}.pki`, message: 'the PKI secrets engine mount path is missing' });
  const role = optionalString(fromCp.role);
  if (!role) errors.push({ path: `${base}.role`, message: 'the PKI role is missing' });

  const tlsConf = isObj(fromCp.tls) ? fromCp.tls : {};
  let caCertPem: string | undefined;
  if (tlsConf.caCert !== undefined) {
    const loaded = await loadDataSource(ctx, tlsConf.caCert, `${base}.tls.caCert`, 'the Vault server CA certificate');
    if (loaded.ok) caCertPem = loaded.data.toString('utf8');
    else errors.push(loaded.issue);
  }

  const authConf = isObj(fromCp.auth) ? fromCp.auth : {};
  const auth: VaultSettings['auth'] = {};
  let tokenPath = `${base}.auth.token`;
  if (authConf.token !== undefined) {
    const loaded = await loadDataSource(ctx, authConf.token, tokenPath, 'the Vault token');
    if (loaded.ok) auth.token = loaded.data.toString('utf8').trim();
    else errors.push(loaded.issue);
    if (loaded.ok && !auth.token) errors.push({ path: tokenPath, message: 'the Vault token is empty' });
  } else if (isObj(authConf.tls)) {
    const key = await loadDataSource(ctx, authConf.tls.clientKey, `${base}.auth.tls.clientKey`, 'the client private key');
    const cert = await loadDataSource(ctx, authConf.tls.clientCert, `${base}.auth.tls.clientCert`, 'the client certificate');
    if (key.ok) auth.clientKeyPem = key.data.toString('utf8');
    else errors.push(key.issue);
    if (cert.ok) auth.clientCertPem = cert.data.toString('utf8');
    else errors.push(cert.issue);
    tokenPath = `${base}.auth.tls`;
  } else if (ctx.vaultDefaults?.token) {
    auth.token = ctx.vaultDefaults.token;
    tokenPath = 'VAULT_TOKEN';
  } else if (!agentAddress) {
    errors.push({ path: `${base}.auth`, message: 'no Vault credentials: set conf.fromCp.auth.token or auth.tls (or VAULT_TOKEN)' });
  }

  if (errors.length > 0 || !address || !pki || !role) return { errors };
  return {
    errors,
    settings: {
      address: address.replace(/\/+$/, ''),
      viaAgent: agentAddress !== undefined,
      namespace: optionalString(fromCp.namespace),
      pki: pki.replace(/^\/+|\/+$/g, ''),
      role,
      commonName: optionalString(fromCp.commonName),
      tls: { caCertPem, skipVerify: tlsConf.skipVerify === true, serverName: optionalString(tlsConf.serverName) },
      auth,
      tokenPath,
    },
  };
}

/** Renders Kong Mesh's commonName template: `{{ tag "name" }}` becomes the proxy's tag value. */
export function renderCommonName(template: string, tags: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{\s*tag\s+"([^"]+)"\s*\}\}/g, (_, name: string) => tags[name] ?? '');
}
