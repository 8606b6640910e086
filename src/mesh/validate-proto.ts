/**
 * zod pieces for proto3 JSON fields the way Kuma's decoder (golang/protobuf jsonpb) reads them:
 * `null` means unset; numbers may also come quoted; enums by name or number. Kuma refuses a Mesh
 * whose fields have the wrong type; we report each such field with its path. Pure.
 */
import { z } from 'zod';

const UINT32_MAX = 4_294_967_295;
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

export const protoString = z.string().nullish();
export const protoBool = z.boolean().nullish();
/** A `google.protobuf.Struct` (a backend's `conf`): any mapping. */
export const protoStruct = z.record(z.string(), z.unknown()).nullish();
export const protoStringMap = z.record(z.string(), z.string()).nullish();

export const protoUint32 = z
  .union([z.number(), z.string().regex(/^\d+$/).transform(Number)], { error: `must be a whole number from 0 to ${UINT32_MAX}` })
  .refine((n) => Number.isInteger(n) && n >= 0 && n <= UINT32_MAX, { error: `must be a whole number from 0 to ${UINT32_MAX}` })
  .nullish();

export const protoDouble = z
  .union([z.number(), z.string().regex(DECIMAL).transform(Number), z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number)], { error: 'must be a number' })
  .nullish();

const INT32 = z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1);

/**
 * A proto enum: one of `names`, or a number. proto3 enums are open, so Kuma's decoder takes any int32;
 * a number naming no value is kept as the number.
 */
export function protoEnum<const T extends readonly [string, ...string[]]>(names: T) {
  return z
    .union([z.enum(names), INT32.transform((n) => names[n] ?? n)], { error: `must be one of ${names.join(', ')}` })
    .nullish();
}

export const protoList = <T extends z.ZodType>(item: T) => z.array(item).nullish();
