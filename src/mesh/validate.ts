/**
 * Static validation of a Mesh: every rule Kuma 2.14 applies to a Mesh resource that needs no crypto
 * and no network (the CA backends add their own checks in src/ca/), all reported at once, each with
 * its path in the Universal form (`mtls.backends[1].conf.cert.secret`) whatever the input format.
 * Where we are stricter than Kuma on purpose, the message says so. Never throws. Pure.
 */
import { parseDocuments } from './documents';
import type { Mesh, Secret, ValidationIssue, ValidationResult } from './schema';
import { checkConstraints, checkOtherFields, checkRouting } from './validate-constraints';
import { Issues } from './validate-issues';
import { checkMetrics } from './validate-metrics';
import { checkMtls } from './validate-mtls';
import { checkMeshName } from './validate-names';
import { checkLogging, checkTracing } from './validate-observability';
import type { DocumentFormat } from './yaml';
import { errorMessage } from './errors';

/**
 * `knownSecretNames`: the mesh's Secrets, to check references to them; undefined skips that check.
 * A last-resort catch turns a bug into a finding: validation must never crash its caller.
 */
export function validateMesh(mesh: Mesh, knownSecretNames: ReadonlySet<string> | undefined): ValidationResult {
  const issues = Issues.collect();
  try {
    checkMeshName(mesh.name, issues.at('name'));
    checkMtls(mesh, issues.at('mtls'), { meshName: mesh.name, knownSecrets: knownSecretNames });
    for (const [section, check] of [
      ['logging', checkLogging],
      ['tracing', checkTracing],
      ['metrics', checkMetrics],
      ['constraints', checkConstraints],
    ] as const) {
      if (mesh[section] !== undefined && mesh[section] !== null) check(mesh[section], issues.at(section));
    }
    checkRouting(mesh, issues);
    checkOtherFields(mesh, issues);
  } catch (error) {
    issues.error(`validation failed unexpectedly: ${errorMessage(error)}`);
  }
  return issues.result;
}

export interface DocumentsValidation {
  valid: boolean;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
  format?: DocumentFormat;
  mesh?: Mesh;
  secrets?: Secret[];
}

/** What `ca-rotate validate -f FILE` checks before the CA backends' own crypto checks. Never throws. */
export function validateDocuments(text: string): DocumentsValidation {
  const parsed = parseDocuments(text);
  if (!parsed.ok) return { valid: false, errors: parsed.errors, warnings: parsed.warnings };
  const known = new Set(parsed.secrets.filter((secret) => secret.mesh === parsed.mesh.name).map((secret) => secret.name));
  const result = validateMesh(parsed.mesh, known);
  return {
    valid: result.errors.length === 0,
    errors: result.errors,
    warnings: [...parsed.warnings, ...result.warnings],
    format: parsed.format,
    mesh: parsed.mesh,
    secrets: parsed.secrets,
  };
}
