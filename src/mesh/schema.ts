/**
 * The Mesh and Secret resources exactly as Kuma / Kong Mesh define them (the parts this project reads),
 * as zod schemas. Objects are loose: fields we do not model survive a round trip untouched.
 * Pure: safe inside workflow code.
 */
import { z } from 'zod';

export const BACKEND_TYPES = ['builtin', 'provided', 'vault'] as const;
export type BackendType = (typeof BACKEND_TYPES)[number];

/** proto3: a string field set to null is unset, i.e. empty. */
const protoStringOrEmpty = z
  .string()
  .nullish()
  .transform((value) => value ?? '');

/** proto3: a field set to null is unset. */
const unset = <T extends z.ZodType>(schema: T) =>
  schema
    .nullish()
    .transform((value) => value ?? undefined)
    .optional();

export const BackendSchema = z.looseObject({
  name: protoStringOrEmpty,
  /** A string here so an unknown type becomes a validation error with its path, not a parse failure. */
  type: protoStringOrEmpty,
  dpCert: unset(
    z.looseObject({
      rotation: unset(z.looseObject({ expiration: unset(z.string()) })),
      requestTimeout: unset(z.string()),
    }),
  ),
  conf: unset(z.record(z.string(), z.unknown())),
  /** A proto3 enum: by name, or by any number (proto3 enums are open; Kuma's decoder takes 7 too). */
  mode: unset(z.union([z.enum(['STRICT', 'PERMISSIVE']), z.number().int()], { error: 'must be STRICT or PERMISSIVE' })),
  rootChain: unset(z.looseObject({ requestTimeout: unset(z.string()) })),
});
export type Backend = z.infer<typeof BackendSchema>;

export const MtlsSchema = z.looseObject({
  enabledBackend: unset(z.string()),
  backends: unset(z.array(BackendSchema)),
  skipValidation: unset(z.boolean()),
});
export type Mtls = z.infer<typeof MtlsSchema>;

/** The canonical form inside the project and on the REST API: Kuma's Universal shape. */
export const MeshSchema = z.looseObject({
  type: z.literal('Mesh'),
  name: z.string().min(1),
  mtls: unset(MtlsSchema),
});
export type Mesh = z.infer<typeof MeshSchema>;

export const KubernetesMeshSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.literal('Mesh'),
  metadata: z.looseObject({ name: z.string().min(1) }),
  spec: z.looseObject({ mtls: unset(MtlsSchema) }).optional(),
});
export type KubernetesMesh = z.infer<typeof KubernetesMeshSchema>;

/** Universal Secret: `data` is base64. */
export const SecretSchema = z.looseObject({
  type: z.literal('Secret'),
  name: z.string().min(1),
  mesh: z.string().min(1),
  data: z.string(),
});
export type Secret = z.infer<typeof SecretSchema>;

export const KubernetesSecretSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.literal('Secret'),
  type: z.literal('system.kuma.io/secret'),
  metadata: z.looseObject({ name: z.string().min(1), namespace: z.string().optional(), labels: z.record(z.string(), z.string()).optional() }),
  data: z.looseObject({ value: z.string() }),
});
export type KubernetesSecret = z.infer<typeof KubernetesSecretSchema>;

/** One problem with an input: where (a JSON-path-like string, `mtls.backends[1].conf.cert`) and what. */
export interface ValidationIssue {
  path: string;
  message: string;
}

export interface ValidationResult {
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

export function backendNamed(mesh: Mesh, name: string | undefined): Backend | undefined {
  return mesh.mtls?.backends?.find((b) => b.name === name);
}
