/**
 * Preflight's CA checks under the retry contract (src/activities/failures.ts), with the real CA
 * backends: a CA that refuses the target fails at once with the field and reason; a CA that does not
 * answer (Vault on a closed port, a Secrets API that is down) is retried, never called "invalid".
 */
import { ApplicationFailure } from '@temporalio/activity';
import { rotationActivitiesFor } from '../../../src/activities';
import type { MeshTarget } from '../../../src/activities/mesh-target';
import { NON_RETRYABLE_FAILURES, type RotationActivities } from '../../../src/activities/types';
import { isRetryableCaFailure } from '../../../src/ca/errors';
import { ControlPlaneUnreachableError } from '../../../src/controlplane/client';
import { freePort } from '../../../src/devstack/ports';
import type { Backend, Mesh } from '../../../src/mesh/schema';
import { memoryMeshTarget } from './memory-target';

const current: Mesh = { type: 'Mesh', name: 'default', mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } };
const rotateTo = (backend: Backend, skipValidation?: boolean): Mesh => ({
  type: 'Mesh',
  name: 'default',
  mtls: { enabledBackend: backend.name, backends: [backend], ...(skipValidation ? { skipValidation } : {}) },
});
const vault = (address: string, token: Record<string, string> = { inlineString: 'not-a-real-token' }): Backend => ({
  name: 'vault-1',
  type: 'vault',
  dpCert: { rotation: { expiration: '24h' } },
  conf: { fromCp: { address, pki: 'pki', role: 'dataplane-proxies', auth: { token } } },
});

function activitiesOn(getSecret?: MeshTarget['getSecret'], from: Mesh = current): RotationActivities {
  const { target } = memoryMeshTarget(from, { getSecret });
  return rotationActivitiesFor({ controlPlane: { url: 'http://127.0.0.1:1' } }, target);
}

async function preflightFailure(activities: RotationActivities, target: Mesh): Promise<unknown> {
  return activities.preflight({ mesh: 'default', target }).then(
    () => {
      throw new Error('preflight passed');
    },
    (err: unknown) => err,
  );
}

function expectRetried(err: unknown): void {
  expect(err).not.toBeInstanceOf(ApplicationFailure);
  expect(isRetryableCaFailure(err)).toBe(true);
  expect(NON_RETRYABLE_FAILURES).not.toContain((err as Error).name);
}

describe('preflight: CA failures under the retry contract', () => {
  it('Vault down (a closed port) is transient: retried, at the address field, never "invalid"', async () => {
    const address = `http://127.0.0.1:${await freePort()}`;
    const err = await preflightFailure(activitiesOn(), rotateTo(vault(address)));
    expectRetried(err);
    expect(err).toMatchObject({ name: 'CaUnavailableError', path: 'mtls.backends[1].conf.fromCp.address' });
    expect((err as Error).message).toMatch(new RegExp(`^Vault is unreachable at ${address} \\(ECONNREFUSED\\)`));
  });

  it('a Secrets API that does not answer (the CA material cannot be read) is transient too', async () => {
    const down = async (): Promise<never> => {
      throw new ControlPlaneUnreachableError('http://127.0.0.1:1', new Error('ECONNREFUSED'));
    };
    const provided: Backend = { name: 'ca-2', type: 'provided', conf: { cert: { secret: 'ca-2-cert' }, key: { secret: 'ca-2-key' } } };
    const err = await preflightFailure(activitiesOn(down), rotateTo(provided));
    expectRetried(err);
    expect(err).toMatchObject({ name: 'CaUnavailableError', path: 'mtls.backends[1].conf.cert.secret' });
  });

  it('a permanent CA failure (the token secret does not exist) fails at once, naming the field', async () => {
    const err = await preflightFailure(activitiesOn(), rotateTo(vault('http://127.0.0.1:1', { secret: 'vault-token' })));
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'InvalidRotationTarget', nonRetryable: true });
    expect((err as Error).message).toBe('mtls.backends[1].conf.fromCp.auth.token.secret: secret "vault-token" does not exist in mesh "default"');
  });

  it('a malformed conf that the static and the backend checks both reject is reported once', async () => {
    const malformed: Backend = { name: 'ca-2', type: 'provided', conf: { cert: 'not-a-data-source', key: { inline: '!!!' } } };
    const err = await preflightFailure(activitiesOn(), rotateTo(malformed));
    expect(err).toMatchObject({ type: 'InvalidRotationTarget', nonRetryable: true });
    expect((err as Error).message.split('; ')).toEqual([
      'mtls.backends[1].conf.cert: expected object, received string',
      'mtls.backends[1].conf.key.inline: is not valid base64: inline holds base64-encoded bytes (use inlineString for PEM text)',
    ]);
  });

  it('under mtls.skipValidation, Vault down is a warning (Kuma would not ask Vault either)', async () => {
    const address = `http://127.0.0.1:${await freePort()}`;
    const skipping: Mesh = { ...current, mtls: { ...current.mtls, skipValidation: true } };
    const result = await activitiesOn(undefined, skipping).preflight({ mesh: 'default', target: rotateTo(vault(address), true) });
    expect(result.warnings).toContainEqual({
      path: 'mtls.backends[1].conf.fromCp.address',
      message: expect.stringMatching(/^Vault is unreachable at .* \(not enforced: mtls.skipValidation is true\)$/),
    });
  });
});
