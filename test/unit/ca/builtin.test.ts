import { X509Certificate } from 'node:crypto';
import { builtinBackend, builtinCertSecretName, builtinKeySecretName } from '../../../src/ca/builtin';
import { MemorySecretStore } from '../../../src/ca/memory-secret-store';
import { validateBackends } from '../../../src/ca/registry';
import type { CaContext } from '../../../src/ca/types';
import type { Backend, Mesh } from '../../../src/mesh/schema';
import { createCsr } from '../../../src/pki/csr';
import { generateKeyPair } from '../../../src/pki/keys';

const builtin = (name: string, conf?: Record<string, unknown>): Backend => ({ name, type: 'builtin', ...(conf ? { conf } : {}) });

function context(store = new MemorySecretStore()): CaContext & { secrets: MemorySecretStore } {
  return { mesh: 'default', secrets: store };
}

describe('builtin CA', () => {
  it('generates an ECDSA P-256 CA once, stored under Kuma secret names, with a random serial and a distinct subject per backend', async () => {
    const ctx = context();
    const [first] = await builtinBackend.rootCertificates(ctx, builtin('ca-1'));
    const [second] = await builtinBackend.rootCertificates(ctx, builtin('ca-2'));
    expect(ctx.secrets.names('default').sort()).toEqual(
      [builtinCertSecretName('default', 'ca-1'), builtinCertSecretName('default', 'ca-2'), builtinKeySecretName('default', 'ca-1'), builtinKeySecretName('default', 'ca-2')].sort(),
    );
    const a = new X509Certificate(first as string);
    const b = new X509Certificate(second as string);
    expect(a.subject).not.toBe(b.subject);
    expect(a.subject).toMatch(/CN=default-ca-1 CA [0-9a-f]{16}/);
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.serialNumber.replace(/^0+/, '').length).toBeGreaterThanOrEqual(16);
    expect(a.ca).toBe(true);
    expect(a.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    // A second ensure keeps the stored CA.
    expect(await builtinBackend.rootCertificates(ctx, builtin('ca-1'))).toEqual([first]);
  });

  it('agrees on one CA when ensured concurrently', async () => {
    const ctx = context();
    await Promise.all(Array.from({ length: 5 }, () => builtinBackend.ensure(ctx, builtin('ca-1'))));
    const roots = await Promise.all(Array.from({ length: 3 }, () => builtinBackend.rootCertificates(ctx, builtin('ca-1'))));
    expect(new Set(roots.map((r) => r[0])).size).toBe(1);
    const issuer = await builtinBackend.openIssuer(ctx, builtin('ca-1'));
    const issued = await issuer.issue({ csrDer: createCsr((await generateKeyPair()).privateKey), service: 'web', tags: {} });
    expect(new X509Certificate(issued.certificatePem).verify(new X509Certificate(roots[0]?.[0] as string).publicKey)).toBe(true);
    await issuer.close?.();
  });

  it('honours conf.caCert.RSAbits and expiration', async () => {
    const [root] = await builtinBackend.rootCertificates(context(), builtin('rsa', { caCert: { RSAbits: 2048, expiration: '1y' } }));
    const x509 = new X509Certificate(root as string);
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const lifetimeDays = (new Date(x509.validTo).getTime() - new Date(x509.validFrom).getTime()) / 86_400_000;
    expect(Math.round(lifetimeDays)).toBe(365);
  });

  it('reports bad caCert settings with their paths through validateBackends', async () => {
    const mesh: Mesh = {
      type: 'Mesh',
      name: 'default',
      mtls: { backends: [builtin('ok'), builtin('bad', { caCert: { RSAbits: 1024, expiration: 'forever' } }), { name: 'x', type: 'unknown' }] },
    };
    const result = await validateBackends(mesh, context());
    expect(result.errors).toEqual([
      { path: 'mtls.backends[1].conf.caCert.RSAbits', message: expect.any(String) },
      { path: 'mtls.backends[1].conf.caCert.expiration', message: expect.any(String) },
    ]);
  });
});
