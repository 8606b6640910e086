/**
 * Reads a multi-document YAML file holding one Mesh and the Secrets it references, in Universal or
 * Kubernetes form, into the canonical Universal form. Never throws: every problem becomes an issue
 * with a path. Paths inside the Mesh use the Universal form (`mtls.backends[1].conf`) whatever the
 * input format; paths about a document itself name it (`documents[2].data`). Pure.
 */
import { parseAllDocuments, type Document } from 'yaml';
import type { z } from 'zod';
import { isBase64 } from './base64';
import {
  KubernetesMeshSchema,
  KubernetesSecretSchema,
  MeshSchema,
  SecretSchema,
  type Mesh,
  type Secret,
  type ValidationIssue,
} from './schema';
import { describeZodIssue } from './validate-issues';
import { KUMA_API_VERSION, fromKubernetesMesh, isPlainObject, type DocumentFormat } from './yaml';
import { errorMessage } from './errors';

export const KUMA_SECRET_TYPE = 'system.kuma.io/secret';
export const MESH_LABEL = 'kuma.io/mesh';

export type ParsedDocuments =
  | { ok: true; format: DocumentFormat; mesh: Mesh; secrets: Secret[]; warnings: ValidationIssue[] }
  | { ok: false; errors: ValidationIssue[]; warnings: ValidationIssue[] };

/** `['mtls', 'backends', 1, 'name']` → `mtls.backends[1].name`. */
export function joinPath(prefix: string, segments: readonly PropertyKey[]): string {
  let path = prefix;
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else path += path === '' ? String(segment) : `.${String(segment)}`;
  }
  return path;
}

function zodIssues(error: z.ZodError, pathOf: (segments: readonly PropertyKey[]) => string): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: pathOf(issue.path), message: describeZodIssue(issue) }));
}

/** What one YAML document turned out to be. */
type Resource =
  | { kind: 'mesh'; format: DocumentFormat; mesh: Mesh; index: number }
  | { kind: 'secret'; format: DocumentFormat; secret: Secret; index: number; meshFromLabel: boolean }
  | { kind: 'skipped' };

interface Collector {
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}

function readUniversalMesh(value: Record<string, unknown>, index: number, out: Collector): Resource {
  const parsed = MeshSchema.safeParse(value);
  if (!parsed.success) {
    out.errors.push(...zodIssues(parsed.error, (segments) => joinPath('', segments)));
    return { kind: 'skipped' };
  }
  return { kind: 'mesh', format: 'universal', mesh: parsed.data, index };
}

/** Kubernetes Mesh paths, in the Universal form the rest of the project speaks. */
function universalPathOfKubernetes(segments: readonly PropertyKey[], index: number): string {
  const [first, second, ...rest] = segments;
  if (first === 'spec') return joinPath('', segments.slice(1)) || 'spec';
  if (first === 'metadata' && second === 'name') return joinPath('name', rest);
  return joinPath(`documents[${index}]`, segments);
}

/** Kubernetes bookkeeping fields, dropped without a word; anything else in metadata gets a warning. */
const SERVER_METADATA = ['name', 'labels', 'namespace', 'creationTimestamp', 'resourceVersion', 'uid', 'generation', 'managedFields', 'selfLink'];

function readKubernetesMesh(value: Record<string, unknown>, index: number, out: Collector): Resource {
  if (value.apiVersion !== KUMA_API_VERSION) {
    out.errors.push({ path: `documents[${index}].apiVersion`, message: `a Kubernetes Mesh has apiVersion "${KUMA_API_VERSION}", not ${JSON.stringify(value.apiVersion)}` });
    return { kind: 'skipped' };
  }
  const parsed = KubernetesMeshSchema.safeParse(value);
  if (!parsed.success) {
    out.errors.push(...zodIssues(parsed.error, (segments) => universalPathOfKubernetes(segments, index)));
    return { kind: 'skipped' };
  }
  for (const key of Object.keys(parsed.data.metadata).filter((k) => !SERVER_METADATA.includes(k))) {
    out.warnings.push({ path: `documents[${index}].metadata.${key}`, message: `metadata.${key} has no Universal equivalent and is not carried into the mesh the rotation applies` });
  }
  return { kind: 'mesh', format: 'kubernetes', mesh: fromKubernetesMesh(parsed.data), index };
}

const BASE64_HINT = 'is not valid base64: encode the bytes with standard base64 (e.g. `base64 -w0 ca.pem`)';

function readUniversalSecret(value: Record<string, unknown>, index: number, out: Collector): Resource {
  const parsed = SecretSchema.safeParse(value);
  if (!parsed.success) {
    out.errors.push(...zodIssues(parsed.error, (segments) => joinPath(`documents[${index}]`, segments)));
    return { kind: 'skipped' };
  }
  if (!secretDataValid(parsed.data.data, `documents[${index}].data`, out)) return { kind: 'skipped' };
  return { kind: 'secret', format: 'universal', secret: parsed.data, index, meshFromLabel: true };
}

function secretDataValid(data: string, path: string, out: Collector): boolean {
  if (data.length === 0) out.errors.push({ path, message: 'cannot be empty: a Kuma Secret holds data' });
  else if (!isBase64(data)) out.errors.push({ path, message: BASE64_HINT });
  else return true;
  return false;
}

function readKubernetesSecret(value: Record<string, unknown>, index: number, out: Collector): Resource {
  const at = `documents[${index}]`;
  if (value.type !== KUMA_SECRET_TYPE) {
    out.errors.push({ path: `${at}.type`, message: `a Kubernetes Secret for Kuma has type "${KUMA_SECRET_TYPE}", not ${JSON.stringify(value.type)}: Kuma ignores other Secrets` });
    return { kind: 'skipped' };
  }
  const parsed = KubernetesSecretSchema.safeParse(value);
  if (!parsed.success) {
    out.errors.push(...zodIssues(parsed.error, (segments) => joinPath(at, segments)));
    return { kind: 'skipped' };
  }
  if (parsed.data.apiVersion !== 'v1') {
    out.errors.push({ path: `${at}.apiVersion`, message: `a Kubernetes Secret has apiVersion "v1", not ${JSON.stringify(parsed.data.apiVersion)}` });
    return { kind: 'skipped' };
  }
  if (!secretDataValid(parsed.data.data.value, `${at}.data.value`, out)) return { kind: 'skipped' };
  const labelledMesh = parsed.data.metadata.labels?.[MESH_LABEL];
  // Without the label the Secret belongs to the file's Mesh; filled in once every document is read.
  const secret: Secret = { type: 'Secret', name: parsed.data.metadata.name, mesh: labelledMesh ?? '', data: parsed.data.data.value };
  return { kind: 'secret', format: 'kubernetes', secret, index, meshFromLabel: labelledMesh !== undefined };
}

const WHAT_BELONGS = 'this file holds one Mesh and the Secrets it references';

function classify(value: unknown, index: number, out: Collector): Resource {
  const at = `documents[${index}]`;
  if (!isPlainObject(value)) {
    out.errors.push({ path: at, message: `expected a mapping (a Kuma resource), found ${describeValue(value)}` });
    return { kind: 'skipped' };
  }
  if ('kind' in value) {
    if (value.kind === 'Mesh') return readKubernetesMesh(value, index, out);
    if (value.kind === 'Secret') return readKubernetesSecret(value, index, out);
    out.errors.push({ path: `${at}.kind`, message: `unexpected resource kind ${JSON.stringify(value.kind)}: ${WHAT_BELONGS} (kind: Mesh, kind: Secret)` });
    return { kind: 'skipped' };
  }
  if (value.type === 'Mesh') return readUniversalMesh(value, index, out);
  if (value.type === 'Secret') return readUniversalSecret(value, index, out);
  if ('type' in value) {
    out.errors.push({ path: `${at}.type`, message: `unexpected resource type ${JSON.stringify(value.type)}: ${WHAT_BELONGS} (type: Mesh, type: Secret)` });
  } else {
    out.errors.push({ path: at, message: `not a Kuma resource: expected \`type: Mesh\` / \`type: Secret\` (Universal) or \`kind: Mesh\` / \`kind: Secret\` (Kubernetes)` });
  }
  return { kind: 'skipped' };
}

/** The first line of a yaml error, which already says where: "Map keys must be unique at line 5, column 1". */
function yamlErrorMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/:$/, '');
}

/**
 * Aliases are expanded here; the yaml library caps their count and throws beyond it, so a
 * "billion laughs" file is reported instead of eating memory.
 */
function documentValue(document: Document.Parsed, index: number, out: Collector): unknown {
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    out.errors.push({ path: `documents[${index}]`, message: `cannot read this document: ${errorMessage(error)}` });
    return undefined;
  }
}

/** Each document's plain value, or undefined for documents that are empty or broken (errors recorded). */
function readYamlValues(text: string, out: Collector): { index: number; value: unknown }[] {
  const values: { index: number; value: unknown }[] = [];
  const documents = parseAllDocuments(text, { uniqueKeys: true });
  documents.forEach((document, index) => {
    for (const warning of document.warnings) out.warnings.push({ path: `documents[${index}]`, message: yamlErrorMessage(warning.message) });
    if (document.errors.length > 0) {
      for (const error of document.errors) out.errors.push({ path: `documents[${index}]`, message: `invalid YAML: ${yamlErrorMessage(error.message)}` });
      return;
    }
    const value = documentValue(document, index, out);
    if (value !== null && value !== undefined) values.push({ index, value });
  });
  return values;
}

export function parseDocuments(text: string): ParsedDocuments {
  const out: Collector = { errors: [], warnings: [] };
  try {
    if (typeof text !== 'string') return { ok: false, errors: [{ path: 'documents', message: `expected YAML text, got ${describeValue(text)}` }], warnings: [] };
    const resources = readYamlValues(text, out).map(({ index, value }) => classify(value, index, out));
    return assemble(resources, out);
  } catch (error) {
    // A last resort: nothing above should throw, but a file must never crash `ca-rotate validate`.
    out.errors.push({ path: 'documents', message: `cannot read the file: ${errorMessage(error)}` });
    return { ok: false, errors: out.errors, warnings: out.warnings };
  }
}

function assemble(resources: Resource[], out: Collector): ParsedDocuments {
  const meshes = resources.filter((r): r is Extract<Resource, { kind: 'mesh' }> => r.kind === 'mesh');
  const first = meshes[0];
  for (const extra of meshes.slice(1)) {
    out.errors.push({ path: `documents[${extra.index}]`, message: `a second Mesh ("${extra.mesh.name}"): ${WHAT_BELONGS}; the Mesh is documents[${first?.index}] ("${first?.mesh.name}")` });
  }
  if (!first) {
    if (out.errors.length === 0) out.errors.push({ path: 'documents', message: `no Mesh found: ${WHAT_BELONGS} (\`type: Mesh\` or \`kind: Mesh\`)` });
    return { ok: false, errors: out.errors, warnings: out.warnings };
  }
  const secrets = collectSecrets(resources, first, out);
  if (out.errors.length > 0) return { ok: false, errors: out.errors, warnings: out.warnings };
  return { ok: true, format: first.format, mesh: first.mesh, secrets, warnings: out.warnings };
}

function collectSecrets(resources: Resource[], mesh: Extract<Resource, { kind: 'mesh' }>, out: Collector): Secret[] {
  const secrets: Secret[] = [];
  const seen = new Map<string, number>();
  for (const resource of resources) {
    if (resource.kind !== 'secret') continue;
    const at = `documents[${resource.index}]`;
    const secret = resource.meshFromLabel ? resource.secret : { ...resource.secret, mesh: mesh.mesh.name };
    const key = `${secret.mesh}/${secret.name}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      out.errors.push({ path: `${at}.${resource.format === 'kubernetes' ? 'metadata.name' : 'name'}`, message: `Secret "${secret.name}" is defined twice (also documents[${earlier}])` });
      continue;
    }
    seen.set(key, resource.index);
    if (secret.mesh !== mesh.mesh.name) {
      out.warnings.push({ path: at, message: `Secret "${secret.name}" belongs to mesh "${secret.mesh}", not to "${mesh.mesh.name}": the Mesh cannot use it` });
    }
    if (resource.format !== mesh.format) {
      out.warnings.push({ path: at, message: `a ${resource.format} Secret next to a ${mesh.format} Mesh: kumactl and kubectl each apply only their own format` });
    }
    secrets.push(secret);
  }
  return secrets;
}
