/**
 * Mesh codecs: Universal ⇄ Kubernetes, and printing in either format with the key order of the
 * Kong Mesh documentation. Fields we do not model pass through untouched. Pure.
 */
import { stringify } from 'yaml';
import type { KubernetesMesh, Mesh } from './schema';

export type DocumentFormat = 'universal' | 'kubernetes';

export const KUMA_API_VERSION = 'kuma.io/v1alpha1';

/** Set by the control plane, not by a person: never printed back into a file someone will apply. */
const CONTROL_PLANE_FIELDS = ['creationTime', 'modificationTime'];

type Fields = Record<string, unknown>;

function isStringRecord(value: unknown): value is Record<string, string> {
  return isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string');
}

export function isPlainObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function omit(fields: Fields, keys: readonly string[]): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([key]) => !keys.includes(key)));
}

/** `fields` with the `first` keys (those present) leading, the rest in their original order. */
function withKeysFirst(fields: Fields, first: readonly string[]): Fields {
  const leading = first.filter((key) => key in fields).map((key) => [key, fields[key]] as const);
  return Object.fromEntries([...leading, ...Object.entries(omit(fields, first))]);
}

export function toKubernetesMesh(mesh: Mesh): KubernetesMesh {
  const { name, labels } = mesh;
  const spec = omit(mesh, ['type', 'name', ...(isStringRecord(labels) ? ['labels'] : []), ...CONTROL_PLANE_FIELDS]);
  return {
    apiVersion: KUMA_API_VERSION,
    kind: 'Mesh',
    metadata: isStringRecord(labels) ? { name, labels } : { name },
    spec,
  };
}

export function fromKubernetesMesh(kubernetesMesh: KubernetesMesh): Mesh {
  const { name, labels } = kubernetesMesh.metadata;
  const spec = omit(kubernetesMesh.spec ?? {}, ['type', 'name']);
  return { type: 'Mesh', name, ...(isStringRecord(labels) ? { labels } : {}), ...spec };
}

function orderedMtls(mtls: unknown): unknown {
  if (!isPlainObject(mtls)) return mtls;
  const ordered = withKeysFirst(mtls, ['enabledBackend', 'backends']);
  if (Array.isArray(ordered.backends)) {
    ordered.backends = ordered.backends.map((backend: unknown) => (isPlainObject(backend) ? withKeysFirst(backend, ['name', 'type']) : backend));
  }
  return ordered;
}

function orderedSpec(spec: Fields): Fields {
  const ordered = withKeysFirst(spec, ['mtls']);
  if ('mtls' in ordered) ordered.mtls = orderedMtls(ordered.mtls);
  return ordered;
}

function printableUniversal(mesh: Mesh): Fields {
  const { type, name } = mesh;
  const rest = omit(mesh, ['type', 'name', ...CONTROL_PLANE_FIELDS]);
  return withKeysFirst({ type, name, ...orderedSpec(rest) }, ['type', 'name', 'labels', 'mtls']);
}

function printableKubernetes(mesh: Mesh): Fields {
  const kubernetesMesh = toKubernetesMesh(mesh);
  return {
    apiVersion: kubernetesMesh.apiVersion,
    kind: kubernetesMesh.kind,
    metadata: withKeysFirst(kubernetesMesh.metadata, ['name']),
    spec: orderedSpec(kubernetesMesh.spec ?? {}),
  };
}

/** Printing options matching the Kong Mesh docs: sequences flush with their key, no line folding. */
const PRINT_OPTIONS = { indentSeq: false, lineWidth: 0, aliasDuplicateObjects: false } as const;

/** One Mesh as a YAML document in `format` (ends with a newline, no `---`). */
export function formatMeshYaml(mesh: Mesh, format: DocumentFormat): string {
  return stringify(format === 'kubernetes' ? printableKubernetes(mesh) : printableUniversal(mesh), PRINT_OPTIONS);
}

/** Several Meshes (e.g. the three steps of a plan) as one multi-document YAML stream. */
export function formatDocumentsYaml(meshes: readonly Mesh[], format: DocumentFormat): string {
  return meshes.map((mesh) => formatMeshYaml(mesh, format)).join('---\n');
}
