/**
 * Prepares a Vault/OpenBao PKI secrets engine for identity certificates: a mount, a root CA and a role
 * that signs CSRs with SPIFFE and kuma:// URI SANs. For the demo, the benchmark and tests; in
 * production an operator sets this up once.
 */
export interface VaultPkiSetup {
  address: string;
  token: string;
  mount: string;
  role: string;
  commonName?: string;
  maxTtl?: string;
}

async function vaultRequest(setup: VaultPkiSetup, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${setup.address}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': setup.token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`Vault ${method} /v1/${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Idempotent enough for a fresh dev server: mounts, generates the root, writes the role. Returns the root PEM. */
export async function setUpVaultPki(setup: VaultPkiSetup): Promise<string> {
  await vaultRequest(setup, 'POST', `sys/mounts/${setup.mount}`, { type: 'pki', config: { max_lease_ttl: '87600h' } });
  const root = (await vaultRequest(setup, 'POST', `${setup.mount}/root/generate/internal`, {
    common_name: setup.commonName ?? `${setup.mount} root CA`,
    ttl: '87600h',
    key_type: 'ec',
    key_bits: 256,
  })) as { data: { certificate: string } };
  await vaultRequest(setup, 'POST', `${setup.mount}/roles/${setup.role}`, {
    allow_any_name: true,
    enforce_hostnames: false,
    allowed_uri_sans: ['spiffe://*', 'kuma://*'],
    require_cn: false,
    key_type: 'any',
    server_flag: true,
    client_flag: true,
    max_ttl: setup.maxTtl ?? '720h',
    no_store: true,
  });
  return root.data.certificate;
}
