import { CaConfigError, CaRequestError, CaUnavailableError, isRetryableCaFailure } from '../../../src/ca/errors';

describe('the CA error family', () => {
  it.each([
    [new CaConfigError('conf.cert: not a CA', { path: 'conf.cert' }), false],
    [new CaRequestError('CSR signature does not verify'), false],
    [new CaUnavailableError('cannot reach Vault', { status: 503 }), true],
    [new TypeError('a bug'), true],
    ['a string', true],
  ])('%p is retryable: %p', (error, retryable) => {
    expect(isRetryableCaFailure(error)).toBe(retryable);
  });

  it('keeps the name, path, status and upstream errors for callers', () => {
    const error = new CaConfigError('Vault refused', { path: 'conf.fromCp.role', status: 403, upstreamErrors: ['permission denied'] });
    expect(error).toMatchObject({ name: 'CaConfigError', retryable: false, path: 'conf.fromCp.role', status: 403, upstreamErrors: ['permission denied'] });
    expect(error).toBeInstanceOf(Error);
  });
});
