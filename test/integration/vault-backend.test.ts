/** The vault backend's live validation against the real OpenBao dev server: each broken setting is reported at its path. */
import { randomBytes } from 'node:crypto';
import { vaultBackend } from '../../src/ca/vault';
import { MemorySecretStore } from '../../src/ca/memory-secret-store';
import { DevPki, provisionDevPki } from '../../src/ca/vault-dev-pki';
import { validateBackend } from '../../src/ca/registry';
import type { CaContext } from '../../src/ca/types';
import type { Backend, ValidationResult } from '../../src/mesh/schema';
import { Issues } from '../../src/mesh/validate-issues';
import { validateMesh } from '../../src/mesh/validate';
import { createCsr } from '../../src/pki/csr';
import { generateKeyPair } from '../../src/pki/keys';
import { testServers } from '../harness/env';

const PREFIX = 'mtls.backends[1]';
const ctx: CaContext = { mesh: 'default', secrets: new MemorySecretStore() };

async function validate(backend: Backend, context: CaContext = ctx): Promise<ValidationResult> {
  const issues = Issues.collect();
  await validateBackend(context, backend, issues.at(PREFIX));
  return issues.result;
}

function withFromCp(backend: Backend, change: Record<string, unknown>): Backend {
  const fromCp = (backend.conf?.fromCp ?? {}) as Record<string, unknown>;
  return { ...backend, conf: { ...backend.conf, fromCp: { ...fromCp, ...change } } };
}

describe('vault backend validation', () => {
  let pki: DevPki;
  beforeAll(async () => {
    const { vaultAddress, vaultToken } = testServers();
    pki = await provisionDevPki({ address: vaultAddress, token: vaultToken, mount: `vault-backend-${randomBytes(4).toString('hex')}`, mesh: 'default', maxTtl: '48h' });
  });

  it('passes for a working mount, role and token (a test signing included)', async () => {
    expect(await validate(pki.backend('vault-1', '24h'))).toEqual({ errors: [], warnings: [] });
  });

  it('reports a rejected token at auth.token, without the token in any message', async () => {
    const badToken = `s.${randomBytes(12).toString('hex')}`;
    const result = await validate(withFromCp(pki.backend('vault-1'), { auth: { token: { inlineString: badToken } } }));
    expect(result.errors).toEqual([{ path: `${PREFIX}.conf.fromCp.auth.token`, message: expect.stringMatching(/rejected the credentials/) }]);
    expect(JSON.stringify(result)).not.toContain(badToken);
  });

  it('reports a missing role and a missing mount at their paths', async () => {
    const noRole = await validate(withFromCp(pki.backend('vault-1'), { role: 'nope' }));
    expect(noRole.errors).toEqual([{ path: `${PREFIX}.conf.fromCp.role`, message: expect.stringMatching(/does not exist/) }]);
    const noMount = await validate(withFromCp(pki.backend('vault-1'), { pki: 'no-such-mount' }));
    expect(noMount.errors).toEqual([{ path: `${PREFIX}.conf.fromCp.pki`, message: expect.stringMatching(/no PKI secrets engine/) }]);
  });

  it('an unreachable Vault is no finding for callers that retry: it throws CaUnavailableError at the address', async () => {
    const unreachable = withFromCp(pki.backend('vault-1'), { address: 'http://127.0.0.1:1' });
    const issues = Issues.collect();
    const validation = validateBackend(ctx, unreachable, issues.at(PREFIX), { unavailable: 'throw' });
    await expect(validation).rejects.toMatchObject({
      name: 'CaUnavailableError',
      retryable: true,
      path: `${PREFIX}.conf.fromCp.address`,
      message: expect.stringMatching(/^Vault is unreachable at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/),
    });
    expect(issues.result).toEqual({ errors: [], warnings: [] });
    // An admission that answers 400 either way (the default) still gets it as a finding at that path.
    expect((await validate(unreachable)).errors).toEqual([{ path: `${PREFIX}.conf.fromCp.address`, message: expect.stringMatching(/^Vault is unreachable.*ECONNREFUSED/) }]);
  });

  it('reports a certificate lifetime above the role max_ttl at dpCert.rotation.expiration', async () => {
    const result = await validate(pki.backend('vault-1', '72h'));
    expect(result.errors).toEqual([{ path: `${PREFIX}.dpCert.rotation.expiration`, message: expect.stringMatching(/max_ttl=172800s/) }]);
  });

  it('reports a missing token source at its path without calling Vault', async () => {
    const result = await validate(withFromCp(pki.backend('vault-1'), { auth: { token: { secret: 'vault-token' } } }));
    expect(result.errors).toEqual([{ path: `${PREFIX}.conf.fromCp.auth.token.secret`, message: expect.stringMatching(/does not exist/) }]);
  });

  it('takes address and auth from VAULT_ADDR / VAULT_TOKEN when the backend leaves them out, statically and live', async () => {
    const { vaultAddress, vaultToken } = testServers();
    const bare: Backend = { name: 'vault-1', type: 'vault', dpCert: { rotation: { expiration: '24h' } }, conf: { fromCp: { pki: pki.mount, role: pki.role } } };
    expect(validateMesh({ type: 'Mesh', name: 'default', mtls: { enabledBackend: 'vault-1', backends: [bare] } }, new Set()).errors).toEqual([]);
    expect(await validate(bare, { ...ctx, vaultDefaults: { address: vaultAddress, token: vaultToken } })).toEqual({ errors: [], warnings: [] });
    const issuer = await vaultBackend.openIssuer({ ...ctx, vaultDefaults: { address: vaultAddress, token: vaultToken } }, bare);
    await issuer.close?.();
  });

  it('fails fast without retry for refused credentials, and marks an unreachable Vault as transient', async () => {
    const refused = withFromCp(pki.backend('vault-1'), { auth: { token: { inlineString: 'not-a-token' } } });
    const unreachable = withFromCp(pki.backend('vault-1'), { address: 'http://127.0.0.1:1' });
    const issuer = await vaultBackend.openIssuer(ctx, refused);
    const csrDer = createCsr((await generateKeyPair()).privateKey, { commonName: 'web' });
    await expect(issuer.issue({ csrDer, service: 'web', tags: {} })).rejects.toMatchObject({ name: 'CaConfigError', retryable: false, status: 403 });
    await expect(vaultBackend.rootCertificates(ctx, unreachable)).rejects.toMatchObject({ name: 'CaUnavailableError', retryable: true });
  });
});
