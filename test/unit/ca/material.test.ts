/** The provided backend on certificates Kuma accepts but that once crashed or misread us: empty subjects, far dates, every key type. */
import { MemorySecretStore } from '../../../src/ca/memory-secret-store';
import { validateBackends } from '../../../src/ca/registry';
import type { Mesh, ValidationResult } from '../../../src/mesh/schema';
import { sequence } from '../../../src/pki/der';
import { type KeyType, type RawCaOptions, generalizedTime, keyOf, rawCa, utcTime } from '../pki/raw-certificate';

async function validateProvided(options: RawCaOptions, skipValidation = false): Promise<ValidationResult> {
  const ca = rawCa(options);
  const mesh: Mesh = {
    type: 'Mesh',
    name: 'default',
    mtls: { enabledBackend: 'ca-2', skipValidation, backends: [{ name: 'ca-2', type: 'provided', conf: { cert: { inlineString: ca.certificatePem }, key: { inlineString: ca.privateKeyPem } } }] },
  };
  return validateBackends(mesh, { mesh: 'default', secrets: new MemorySecretStore() });
}

const CERT = 'mtls.backends[0].conf.cert';

describe('provided CA material Kuma accepts', () => {
  it('reports the real findings for a CA with an empty subject instead of failing unexpectedly', async () => {
    expect(await validateProvided({ subject: sequence() })).toEqual({ errors: [], warnings: [] });
    const expiredEmpty = await validateProvided({ subject: sequence(), notBefore: utcTime('000101000000Z'), notAfter: utcTime('010101000000Z') });
    expect(expiredEmpty.errors).toEqual([{ path: CERT, message: expect.stringMatching(/^the certificate \(empty subject\) expired at 2001-01-01T00:00:00.000Z/) }]);
  });

  it('takes validity from year 0001 to 2050 and beyond, and names real years when refusing', async () => {
    expect(await validateProvided({ notBefore: generalizedTime('00010101000000Z'), notAfter: generalizedTime('20500101000000Z') })).toEqual({ errors: [], warnings: [] });
    expect(await validateProvided({ notBefore: generalizedTime('19490101000000Z'), notAfter: generalizedTime('99991231235959Z') })).toEqual({ errors: [], warnings: [] });
    const old = await validateProvided({ notBefore: generalizedTime('00010101000000Z'), notAfter: generalizedTime('19491231235959Z') });
    expect(old.errors).toEqual([{ path: CERT, message: expect.stringMatching(/expired at 1949-12-31T23:59:59.000Z \(stricter than Kuma on purpose/) }]);
    const future = await validateProvided({ notBefore: generalizedTime('20600101000000Z') });
    expect(future.errors).toEqual([{ path: CERT, message: expect.stringMatching(/not valid before 2060-01-01T00:00:00.000Z \(stricter than Kuma on purpose/) }]);
  });

  it.each(['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'ed25519', 'rsa-2048'] as KeyType[])('accepts a %s CA', async (type) => {
    expect(await validateProvided({ key: keyOf(type) })).toEqual({ errors: [], warnings: [] });
  });

  it('refuses an RSA-1024 CA on purpose, also under skipValidation, saying it is stricter than Kuma', async () => {
    for (const skip of [false, true]) {
      const result = await validateProvided({ key: keyOf('rsa-1024') }, skip);
      expect(result.errors).toEqual([
        { path: CERT, message: expect.stringMatching(/RSA key of 1024 bits.*stricter than Kuma on purpose/) },
        { path: 'mtls.backends[0].conf.key', message: expect.stringMatching(/RSA key of 1024 bits.*stricter than Kuma on purpose/) },
      ]);
    }
  });
});
