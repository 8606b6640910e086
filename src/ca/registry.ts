/** CA backends by `type`, and validation of every backend of a mesh. */
import type { Backend, Mesh, ValidationResult } from '../mesh/schema';
import { appendPath, Issues } from '../mesh/validate-issues';
import { CaUnavailableError } from './errors';
import { builtinBackend } from './builtin';
import { providedBackend } from './provided';
import type { CaBackend, CaContext } from './types';
import { vaultBackend } from './vault';
import { errorMessage } from '../mesh/errors';

const BACKENDS: ReadonlyMap<string, CaBackend> = new Map([builtinBackend, providedBackend, vaultBackend].map((b) => [b.type, b]));

export function caBackendFor(type: string): CaBackend | undefined {
  return BACKENDS.get(type);
}

export interface BackendValidationOptions {
  /** `mtls.skipValidation: true`: Kuma skips its CA managers' checks, so ours only warn (stricter rules excepted). */
  skipValidation?: boolean;
  /**
   * A CA (or secret store) that did not answer proves nothing about the conf. `throw`: rethrow its
   * CaUnavailableError with the full path (callers that retry or tell the user to try again);
   * `report` (default): an error finding at that path (an admission that answers 400 either way).
   */
  unavailable?: 'throw' | 'report';
}

/** One backend's own checks, rooted at `issues`. */
export async function validateBackend(ctx: CaContext, backend: Backend, issues: Issues, options: BackendValidationOptions = {}): Promise<void> {
  const implementation = caBackendFor(backend.type);
  if (!implementation) return; // the static validation reports unknown types
  const at = options.skipValidation ? issues.notEnforced('mtls.skipValidation is true') : issues;
  try {
    await implementation.validate(ctx, backend, at);
  } catch (error) {
    if (error instanceof CaUnavailableError) {
      // Under skipValidation Kuma would not have asked the CA at all: a warning, never a failure.
      if (options.unavailable === 'throw' && !options.skipValidation) {
        throw new CaUnavailableError(error.message, { path: appendPath(issues.path, error.path ? [error.path] : []), status: error.status, upstreamErrors: error.upstreamErrors });
      }
      at.error(error.message, ...(error.path ? [error.path] : []));
      return;
    }
    // validate must not throw; if it does, report it where it belongs rather than crash the caller.
    issues.error(`validation failed unexpectedly: ${errorMessage(error)}`);
  }
}

/** Every backend's own checks, concurrently, reported in backend order with paths `mtls.backends[i]...`. */
export async function validateBackends(mesh: Mesh, ctx: CaContext, options: Pick<BackendValidationOptions, 'unavailable'> = {}): Promise<ValidationResult> {
  const skipValidation = mesh.mtls?.skipValidation === true;
  const results = await Promise.all(
    (mesh.mtls?.backends ?? []).map(async (backend, index) => {
      const issues = Issues.collect();
      await validateBackend(ctx, backend, issues.at('mtls', 'backends', index), { ...options, skipValidation });
      return issues.result;
    }),
  );
  return { errors: results.flatMap((r) => r.errors), warnings: results.flatMap((r) => r.warnings) };
}
