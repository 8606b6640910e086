/**
 * `vault` backend conf (Kong Mesh: the control plane asks a Vault PKI to sign, `conf.fromCp`). Kong
 * Mesh's validator is not open source; these are the rules of its documentation. `address` and `auth`
 * may be left out: the control plane's VAULT_ADDR / VAULT_TOKEN fill them in. Pure.
 */
import { z } from 'zod';
import type { Backend } from '../schema';
import type { Issues } from '../validate-issues';
import { protoBool, protoString } from '../validate-proto';
import type { BackendCheckContext } from './context';
import { DataSourceSchema, checkDataSource } from './data-source';

const VaultTlsSchema = z.looseObject({ caCert: DataSourceSchema.nullish(), skipVerify: protoBool, serverName: protoString });
const VaultTlsAuthSchema = z.looseObject({ clientKey: DataSourceSchema.nullish(), clientCert: DataSourceSchema.nullish() });
const VaultAuthSchema = z.looseObject({
  token: DataSourceSchema.nullish(),
  tls: VaultTlsAuthSchema.nullish(),
  aws: z.record(z.string(), z.unknown()).nullish(),
});
export const VaultFromCpSchema = z.looseObject({
  address: protoString,
  agentAddress: protoString,
  namespace: protoString,
  pki: protoString,
  role: protoString,
  commonName: protoString,
  tls: VaultTlsSchema.nullish(),
  auth: VaultAuthSchema.nullish(),
});
export const VaultConfSchema = z.looseObject({ fromCp: VaultFromCpSchema.nullish() });
export type VaultConf = z.infer<typeof VaultConfSchema>;
export type VaultFromCp = z.infer<typeof VaultFromCpSchema>;

export const VAULT_AUTH_METHODS = ['token', 'tls', 'aws'] as const;
const HTTP_URL = /^https?:\/\/[^/\s]+/;

export function checkVaultBackend(backend: Backend, issues: Issues, context: BackendCheckContext): void {
  const conf = issues.at('conf');
  const parsed = conf.parse(VaultConfSchema, backend.conf ?? {});
  if (!parsed) return;
  const fromCp = parsed.fromCp;
  if (!fromCp) {
    conf.error('has to be defined: a vault backend needs conf.fromCp with pki and role (address and auth default to VAULT_ADDR / VAULT_TOKEN)', 'fromCp');
    return;
  }
  const at = conf.at('fromCp');
  for (const field of ['address', 'agentAddress'] as const) {
    const url = fromCp[field];
    if (url && !HTTP_URL.test(url)) at.error(`${JSON.stringify(url)} is not a Vault URL: write it as http(s)://host:port`, field);
  }
  if (!fromCp.pki) at.error('cannot be empty: the path of the PKI secrets engine in Vault (e.g. kuma-pki-default)', 'pki');
  if (!fromCp.role) at.error('cannot be empty: the PKI role that signs data plane certificates (e.g. dataplane-proxies)', 'role');
  const rules = { meshName: context.meshName, knownSecrets: context.knownSecrets };
  if (fromCp.tls?.caCert) checkDataSource(fromCp.tls.caCert, at.at('tls', 'caCert'), { ...rules, what: 'the CA that signed the Vault server certificate', sensitive: false });
  const auth = fromCp.auth;
  if (!auth) return;
  const present = VAULT_AUTH_METHODS.filter((method) => auth[method] !== undefined && auth[method] !== null);
  if (present.length === 0) at.error(`has none of ${VAULT_AUTH_METHODS.join(', ')}: leave auth out to use VAULT_TOKEN, or give one method (e.g. token.secret naming a Secret that holds a Vault token)`, 'auth');
  if (present.length > 1) at.error(`has ${present.join(' and ')}: use exactly one auth method`, 'auth');
  if (auth.token) checkDataSource(auth.token, at.at('auth', 'token'), { ...rules, what: 'a Vault token', sensitive: true });
  if (auth.tls) {
    checkDataSource(auth.tls.clientKey, at.at('auth', 'tls', 'clientKey'), { ...rules, what: 'the client private key (PEM)', sensitive: true });
    checkDataSource(auth.tls.clientCert, at.at('auth', 'tls', 'clientCert'), { ...rules, what: 'the client certificate (PEM)', sensitive: false });
  }
}
