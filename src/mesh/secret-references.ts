/**
 * Secret material must reach the control plane as Secrets, referenced by name: a rotation's target
 * travels through Temporal history, so it may not carry keys or tokens inline. Pure.
 */
import type { Mesh, ValidationIssue } from './schema';

/** Data-source fields (under a backend's `conf`) that hold secret material. */
const SECRET_FIELDS = [['key'], ['fromCp', 'auth', 'token'], ['fromCp', 'auth', 'tls', 'clientKey']] as const;

function at(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (const key of path) {
    if (!value || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Paths of secret material given inline (`inline`, `inlineString`); `secret` and `file` name where it lives. */
export function inlineSecretMaterial(mesh: Mesh): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  (mesh.mtls?.backends ?? []).forEach((backend, index) => {
    for (const field of SECRET_FIELDS) {
      const source = at(backend.conf, field);
      if (!source || typeof source !== 'object') continue;
      for (const kind of ['inline', 'inlineString'] as const) {
        if ((source as Record<string, unknown>)[kind] !== undefined) {
          issues.push({
            path: `mtls.backends[${index}].conf.${field.join('.')}.${kind}`,
            message: 'secret material must not be inline in a rotation target (it would be stored in workflow history): put it in a Secret document and reference it with `secret: NAME`',
          });
        }
      }
    }
  });
  return issues;
}
