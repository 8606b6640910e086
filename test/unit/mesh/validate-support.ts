/** Builds Mesh documents in either format from the fields of a Mesh spec, and runs the static validation on them. */
import { validateDocuments } from '../../../src/mesh/validate';
import type { ValidationIssue } from '../../../src/mesh/schema';
import type { DocumentFormat } from '../../../src/mesh/yaml';

export const FORMATS: DocumentFormat[] = ['universal', 'kubernetes'];

/** `spec`: YAML of the Mesh's fields (mtls, logging, ...) starting at column 0. */
export function meshDocument(format: DocumentFormat, spec: string, name = 'default'): string {
  const body = spec.replace(/^\n+/, '').replace(/\s+$/, '');
  if (format === 'universal') return `type: Mesh\nname: ${name}\n${body}\n`;
  const indented = body === '' ? '  {}' : body.replace(/^/gm, '  ');
  return `apiVersion: kuma.io/v1alpha1\nkind: Mesh\nmetadata:\n  name: ${name}\nspec:\n${indented}\n`;
}

/** Strips the common indentation of a template literal, so tables can indent their YAML. */
export function yaml(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

export function staticErrors(format: DocumentFormat, spec: string, extraDocuments = '', name = 'default'): ValidationIssue[] {
  const result = validateDocuments(meshDocument(format, spec, name) + extraDocuments);
  return result.errors;
}

/** `[path, message fragment]` pairs, for compact tables. */
export type Expected = [string, string][];

export function expectIssues(issues: ValidationIssue[], expected: Expected): void {
  expect(issues).toEqual(expected.map(([path, fragment]) => ({ path, message: expect.stringContaining(fragment) })));
}
