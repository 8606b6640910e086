/** The activities' retry contract (src/activities/failures.ts), branch by branch. */
import { ApplicationFailure } from '@temporalio/activity';
import { asActivityFailure } from '../../../src/activities/failures';
import { NON_RETRYABLE_FAILURES } from '../../../src/activities/types';
import { CaConfigError, CaRequestError, CaUnavailableError } from '../../../src/ca/errors';
import { identityFromIndex, multiBackendRotationRefusal, UnknownControlPlaneError } from '../../../src/activities/kuma-api-target';
import { ControlPlaneError, ControlPlaneTlsError, ControlPlaneUnreachableError } from '../../../src/controlplane/client';

const answer = (status: number, pending: string[] = []) =>
  new ControlPlaneError(status, 'Could not process a resource', 'Resource is not valid', [{ field: 'mtls.backends', message: 'cannot have more than 1 backends' }], pending);

describe('retry contract of the activities', () => {
  it.each([500, 502, 503, 409, 429])('%s stays retryable', (status) => {
    expect(asActivityFailure(answer(status))).toBeInstanceOf(ControlPlaneError);
  });

  it('our admission refusal (422 naming pending proxies) is retried: insights catch up', () => {
    expect(asActivityFailure(answer(422, ['web-1']))).toBeInstanceOf(ControlPlaneError);
  });

  it('no answer at all is retried', () => {
    const unreachable = new ControlPlaneUnreachableError('http://127.0.0.1:1', new Error('ECONNREFUSED'));
    expect(asActivityFailure(unreachable)).toBe(unreachable);
  });

  it("any other 4xx fails at once with the control plane's own detail and causes", () => {
    const failure = asActivityFailure(answer(400)) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('ControlPlaneRefused');
    expect(failure.message).toContain('Resource is not valid');
    expect(failure.message).toContain('mtls.backends: cannot have more than 1 backends');
  });

  it('wrong credentials fail at once, as credentials', () => {
    for (const err of [answer(401), answer(403), new ControlPlaneTlsError('not signed by the CA in ca.pem', undefined)]) {
      const failure = asActivityFailure(err) as ApplicationFailure;
      expect(failure.nonRetryable).toBe(true);
      expect(failure.type).toBe('ControlPlaneCredentials');
    }
  });
});

describe('retry contract: CA backend failures (src/ca/errors.ts)', () => {
  it('a refused conf, credentials or request fails at once, as InvalidCaBackend, naming the field', () => {
    const refused = [
      new CaConfigError('Vault refused to look up the token (HTTP 403): permission denied', { path: 'mtls.backends[1].conf.fromCp.auth.token', status: 403 }),
      new CaRequestError('Vault refused to sign (HTTP 400): URI SANs not allowed', { status: 400 }),
    ];
    for (const err of refused) {
      const failure = asActivityFailure(err) as ApplicationFailure;
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: 'InvalidCaBackend', nonRetryable: true });
      expect(NON_RETRYABLE_FAILURES).toContain(failure.type);
      expect(failure.message).toBe(err.path ? `${err.path}: ${err.message}` : err.message);
    }
  });

  it('a CA that did not answer (Vault down, 5xx, 429) is retried', () => {
    const down = new CaUnavailableError('Vault is unreachable at http://127.0.0.1:1 (ECONNREFUSED): could not look up the token');
    expect(asActivityFailure(down)).toBe(down);
    expect(NON_RETRYABLE_FAILURES).not.toContain(down.name);
  });
});

describe('which control plane answers GET /', () => {
  const url = 'http://127.0.0.1:5681';

  it('tells Kong Mesh, Kuma and ours apart, with what each can do', () => {
    expect(identityFromIndex({ product: 'Kong Mesh', version: '2.14.3', basedOnKuma: '2.14.3' }, url)).toMatchObject({
      product: 'kong-mesh',
      capabilities: { revisions: 'none', reissue: false, pushedAcks: false, multiBackendRotation: true },
    });
    expect(identityFromIndex({ product: 'Kuma', version: '2.14.3' }, url)).toMatchObject({ product: 'kuma', capabilities: { multiBackendRotation: false } });
    expect(
      identityFromIndex({ product: 'Kuma', version: '2.14.3', meshCaRotator: { version: '0.1.0', extras: ['mesh-versions', 'reissue'] } }, url),
    ).toMatchObject({ product: 'mesh-ca-rotator', capabilities: { revisions: 'numbered', reissue: true, pushedAcks: false, multiBackendRotation: true } });
  });

  it('refuses a server that is not a Kuma API, and says what Kuma OSS cannot do in one line', () => {
    expect(() => identityFromIndex({ product: 'Consul', version: '1.0' }, url)).toThrow(UnknownControlPlaneError);
    const line = multiBackendRotationRefusal(identityFromIndex({ product: 'Kuma', version: '2.14.3' }, url));
    expect(line).not.toContain('\n');
    expect(line).toContain('one mTLS backend per mesh');
    expect(line).toContain('Kong Mesh');
  });
});
