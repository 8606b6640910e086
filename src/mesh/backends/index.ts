/**
 * One folder per CA backend type (like Kuma's pkg/plugins/ca/{builtin,provided}): its conf schema and
 * its static rules, reporting relative to the backend so the caller roots them at `mtls.backends[i]`.
 * src/ca parses conf with the same schemas. Pure.
 */
import type { Backend, BackendType } from '../schema';
import type { Issues } from '../validate-issues';
import { checkBuiltinBackend } from './builtin';
import type { BackendCheckContext } from './context';
import { checkProvidedBackend } from './provided';
import { checkVaultBackend } from './vault';

export type { BackendCheckContext } from './context';
export * from './builtin';
export * from './provided';
export * from './vault';
export * from './data-source';
export * from './lifetime';

export const BACKEND_CHECKS: Readonly<Record<BackendType, (backend: Backend, issues: Issues, context: BackendCheckContext) => void>> = {
  builtin: checkBuiltinBackend,
  provided: checkProvidedBackend,
  vault: checkVaultBackend,
};
