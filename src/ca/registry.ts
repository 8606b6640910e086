/** CA backends by `type`, and validation of every backend of a mesh. */
import type { Backend, Mesh, ValidationResult } from '../mesh/schema';
import { Issues } from '../mesh/validate-issues';
import { builtinBackend } from './builtin';
import { providedBackend } from './provided';
import type { CaBackend, CaContext } from './types';
import { vaultBackend } from './vault';

const BACKENDS: ReadonlyMap<string, CaBackend> = new Map([builtinBackend, providedBackend, vaultBackend].map((b) => [b.type, b]));

export function caBackendFor(type: string): CaBackend | undefined {
  return BACKENDS.get(type);
}

/**
 * One backend's own checks, rooted at `issues`. Under `mtls.skipValidation: true` Kuma skips its CA
 * managers' checks: ours then only warn, except the rules we keep stricter on purpose.
 */
export async function validateBackend(ctx: CaContext, backend: Backend, issues: Issues, skipValidation = false): Promise<void> {
  const implementation = caBackendFor(backend.type);
  if (!implementation) return; // the static validation reports unknown types
  const at = skipValidation ? issues.notEnforced('mtls.skipValidation is true') : issues;
  try {
    await implementation.validate(ctx, backend, at);
  } catch (error) {
    // validate must not throw; if it does, report it where it belongs rather than crash the caller.
    issues.error(`validation failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Every backend's own checks, concurrently, reported in backend order with paths `mtls.backends[i]...`. */
export async function validateBackends(mesh: Mesh, ctx: CaContext): Promise<ValidationResult> {
  const skip = mesh.mtls?.skipValidation === true;
  const results = await Promise.all(
    (mesh.mtls?.backends ?? []).map(async (backend, index) => {
      const issues = Issues.collect();
      await validateBackend(ctx, backend, issues.at('mtls', 'backends', index), skip);
      return issues.result;
    }),
  );
  return { errors: results.flatMap((r) => r.errors), warnings: results.flatMap((r) => r.warnings) };
}
