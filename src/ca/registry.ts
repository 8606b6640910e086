/** CA backends by `type`, and validation of every backend of a mesh. */
import type { Mesh, ValidationResult } from '../mesh/schema';
import { builtinBackend } from './builtin';
import { providedBackend } from './provided';
import type { CaBackend, CaContext } from './types';
import { vaultBackend } from './vault';

const BACKENDS: ReadonlyMap<string, CaBackend> = new Map([builtinBackend, providedBackend, vaultBackend].map((b) => [b.type, b]));

export function caBackendFor(type: string): CaBackend | undefined {
  return BACKENDS.get(type);
}

/** Runs each backend's own checks with path prefix `mtls.backends[i]`. Unknown types are skipped: the static validator reports them. */
export async function validateBackends(mesh: Mesh, ctx: CaContext): Promise<ValidationResult> {
  const result: ValidationResult = { errors: [], warnings: [] };
  const backends = mesh.mtls?.backends ?? [];
  const checks = backends.map(async (backend, index) => {
    const implementation = caBackendFor(backend.type);
    if (!implementation) return { errors: [], warnings: [] };
    try {
      return await implementation.validate(ctx, backend, `mtls.backends[${index}]`);
    } catch (error) {
      // validate must not throw; if it does, report it where it belongs rather than crash the caller.
      return { errors: [{ path: `mtls.backends[${index}]`, message: `validation failed unexpectedly: ${(error as Error).message}` }], warnings: [] };
    }
  });
  for (const checked of await Promise.all(checks)) {
    result.errors.push(...checked.errors);
    result.warnings.push(...checked.warnings);
  }
  return result;
}
