import { X509Certificate } from 'node:crypto';
import { builtinBackend, builtinCertSecretName, builtinKeySecretName } from '../../../src/ca/builtin';
import { MemorySecretStore } from '../../../src/ca/memory-secret-store';
import { validateBackends } from '../../../src/ca/registry';
import { CaConfigError, type CaContext } from '../../../src/ca/types';
import { validateMesh } from '../../../src/mesh/validate';
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

  it('checks caCert with the same rules as the static validation: refused before anything is generated', async () => {
    const ctx = context();
    const bad = builtin('bad', { caCert: { RSAbits: 1024, expiration: '1h30m' } });
    const mesh: Mesh = { type: 'Mesh', name: 'default', mtls: { backends: [builtin('ok'), bad] } };
    expect(validateMesh(mesh, undefined).errors).toEqual([
      { path: 'mtls.backends[1].conf.caCert.RSAbits', message: expect.stringMatching(/stricter than Kuma on purpose/) },
      { path: 'mtls.backends[1].conf.caCert.expiration', message: expect.stringMatching(/has to be a valid format/) },
    ]);
    await expect(builtinBackend.ensure(ctx, bad)).rejects.toMatchObject({ name: 'CaConfigError', retryable: false, path: 'conf.caCert.RSAbits' });
    expect(ctx.secrets.names('default')).toEqual([]);
  });

  it('reports a stored CA that became unusable, naming its secrets; a store that fails is transient', async () => {
    const ctx = context();
    ctx.secrets.set('default', builtinCertSecretName('default', 'ca-1'), Buffer.from('junk'));
    ctx.secrets.set('default', builtinKeySecretName('default', 'ca-1'), Buffer.from('junk'));
    const result = await validateBackends({ type: 'Mesh', name: 'default', mtls: { backends: [builtin('ca-1')] } }, ctx);
    expect(result.errors).toEqual([
      { path: 'mtls.backends[0]', message: expect.stringMatching(/stored CA \(secrets default\.ca-builtin-cert-ca-1, .*\): not a valid TLS key pair: no PEM CERTIFICATE/) },
      { path: 'mtls.backends[0]', message: expect.stringMatching(/stored CA \(secrets .*default\.ca-builtin-key-ca-1\): not a valid TLS key pair: no PEM private key/) },
    ]);
    await expect(builtinBackend.ensure(ctx, builtin('ca-1'))).rejects.toBeInstanceOf(CaConfigError);
    const failing: CaContext = { mesh: 'default', secrets: { get: () => Promise.reject(new Error('connection reset')), putIfAbsent: () => Promise.reject(new Error('connection reset')) } };
    await expect(builtinBackend.ensure(failing, builtin('ca-1'))).rejects.toMatchObject({ name: 'CaUnavailableError', retryable: true });
  });
});
