/** The vault backend's live validation against the real OpenBao dev server: each broken setting is reported at its path. */
import { randomBytes } from 'node:crypto';
import { vaultBackend } from '../../src/ca/vault';
import { MemorySecretStore } from '../../src/ca/memory-secret-store';
import { DevPki, provisionDevPki } from '../../src/ca/vault-dev-pki';
import type { CaContext } from '../../src/ca/types';
import type { Backend } from '../../src/mesh/schema';
import { testServers } from '../harness/env';

const PREFIX = 'mtls.backends[1]';
const ctx: CaContext = { mesh: 'default', secrets: new MemorySecretStore() };

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
    expect(await vaultBackend.validate(ctx, pki.backend('vault-1', '24h'), PREFIX)).toEqual({ errors: [], warnings: [] });
  });

  it('reports a rejected token at auth.token, without the token in any message', async () => {
    const badToken = `s.${randomBytes(12).toString('hex')}`;
    const result = await vaultBackend.validate(ctx, withFromCp(pki.backend('vault-1'), { auth: { token: { inlineString: badToken } } }), PREFIX);
    expect(result.errors).toEqual([{ path: `${PREFIX}.conf.fromCp.auth.token`, message: expect.stringMatching(/rejected the credentials/) }]);
    expect(JSON.stringify(result)).not.toContain(badToken);
  });

  it('reports a missing role, a missing mount and an unreachable server at their paths', async () => {
    const noRole = await vaultBackend.validate(ctx, withFromCp(pki.backend('vault-1'), { role: 'nope' }), PREFIX);
    expect(noRole.errors).toEqual([{ path: `${PREFIX}.conf.fromCp.role`, message: expect.stringMatching(/does not exist/) }]);
    const noMount = await vaultBackend.validate(ctx, withFromCp(pki.backend('vault-1'), { pki: 'no-such-mount' }), PREFIX);
    expect(noMount.errors).toEqual([{ path: `${PREFIX}.conf.fromCp.pki`, message: expect.stringMatching(/no PKI secrets engine/) }]);
    const unreachable = await vaultBackend.validate(ctx, withFromCp(pki.backend('vault-1'), { address: 'http://127.0.0.1:1' }), PREFIX);
    expect(unreachable.errors).toEqual([{ path: `${PREFIX}.conf.fromCp.address`, message: expect.stringMatching(/cannot reach Vault.*ECONNREFUSED/) }]);
  });

  it('reports a certificate lifetime above the role max_ttl at dpCert.rotation.expiration', async () => {
    const result = await vaultBackend.validate(ctx, pki.backend('vault-1', '72h'), PREFIX);
    expect(result.errors).toEqual([{ path: `${PREFIX}.dpCert.rotation.expiration`, message: expect.stringMatching(/max_ttl=172800s/) }]);
  });

  it('reports a missing token source at its path without calling Vault', async () => {
    const result = await vaultBackend.validate(ctx, withFromCp(pki.backend('vault-1'), { auth: { token: { secret: 'vault-token' } } }), PREFIX);
    expect(result.errors).toEqual([{ path: `${PREFIX}.conf.fromCp.auth.token.secret`, message: expect.stringMatching(/does not exist/) }]);
  });
});
