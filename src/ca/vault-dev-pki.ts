/**
 * Provisions a PKI secrets engine on a development Vault / OpenBao server, the way the Kong Mesh docs
 * set one up for the vault backend: for the demo and the integration tests, not for production.
 */
import nodeVault from 'node-vault';
import type { Backend } from '../mesh/schema';

export interface DevPkiOptions {
  address: string;
  token: string;
  /** Mount path, e.g. `kmesh-pki-default`: unique per test file so runs do not collide. */
  mount: string;
  role?: string;
  mesh: string;
  /** Role max_ttl, Vault duration form. */
  maxTtl?: string;
}

export interface DevPki {
  mount: string;
  role: string;
  rootPem: string;
  /** A vault backend definition pointing at this mount with an inline token. */
  backend(name: string, expiration?: string): Backend;
}

export async function provisionDevPki(options: DevPkiOptions): Promise<DevPki> {
  const role = options.role ?? 'dataplane-proxies';
  const vault = nodeVault({ apiVersion: 'v1', endpoint: options.address, token: options.token });
  await vault.mount({ mount_point: options.mount, type: 'pki', config: { max_lease_ttl: '87600h' } });
  const root = await vault.write(`${options.mount}/root/generate/internal`, {
    common_name: `${options.mesh} Vault root ${options.mount}`,
    ttl: '87600h',
    key_type: 'ec',
    key_bits: 256,
  });
  await vault.write(`${options.mount}/roles/${role}`, {
    allowed_uri_sans: [`spiffe://${options.mesh}/*`, 'kuma://*'],
    allow_any_name: true,
    enforce_hostnames: false,
    require_cn: false,
    // Proxies bring ECDSA P-256 (default) or RSA keys; the default role accepts RSA only.
    key_type: 'any',
    // The identity comes from the control plane's uri_sans, never from what a proxy asks for in its CSR.
    use_csr_sans: false,
    // DigitalSignature only: valid for EC and RSA keys alike (KeyEncipherment is not for EC keys, RFC 5480).
    key_usage: ['DigitalSignature'],
    ext_key_usage: ['ServerAuth', 'ClientAuth'],
    server_flag: true,
    client_flag: true,
    basic_constraints_valid_for_non_ca: true,
    max_ttl: options.maxTtl ?? '720h',
    ttl: '24h',
  });
  return {
    mount: options.mount,
    role,
    rootPem: String(root.data.certificate),
    backend: (name, expiration = '24h') => ({
      name,
      type: 'vault',
      dpCert: { rotation: { expiration } },
      conf: { fromCp: { address: options.address, pki: options.mount, role, auth: { token: { inlineString: options.token } } } },
    }),
  };
}
