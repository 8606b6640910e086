/**
 * Kuma's REST error body, the one definition shared by our control plane (which sends it), the
 * rotation's control plane client and the data plane agent (which read it). Kuma 2.x sends both the
 * RFC 7807 fields (`type`, `status`, `title`, `detail`, `invalid_parameters`) and its older ones
 * (`details`, `causes`); kumactl prints `title`, `detail` and each invalid parameter. `pending` is
 * ours: the proxies a refused mesh edit waits for (also listed as invalid parameters, so kumactl
 * shows them). Pure.
 */
import { z } from 'zod';

export const ErrorCauseSchema = z.object({ field: z.string(), message: z.string() });
export type ErrorCause = z.infer<typeof ErrorCauseSchema>;

export const KumaErrorBodySchema = z.looseObject({
  type: z.string().optional(),
  status: z.number().int().optional(),
  title: z.string(),
  detail: z.string().optional(),
  invalid_parameters: z.array(z.looseObject({ field: z.string(), reason: z.string() })).optional(),
  details: z.string().optional(),
  causes: z.array(ErrorCauseSchema).optional(),
  pending: z.array(z.string()).optional(),
});
export type KumaErrorBody = z.infer<typeof KumaErrorBodySchema>;

/** The body our control plane sends for an error: every field Kuma sends, so any Kuma client reads it. */
export function kumaErrorBody(status: number, title: string, detail: string | undefined, causes: readonly ErrorCause[], pending?: readonly string[]): KumaErrorBody {
  return {
    type: '/std-errors',
    status,
    title,
    ...(detail !== undefined ? { detail, details: detail } : {}),
    ...(causes.length > 0
      ? { invalid_parameters: causes.map((c) => ({ field: c.field, reason: c.message })), causes: [...causes] }
      : {}),
    ...(pending && pending.length > 0 ? { pending: [...pending] } : {}),
  };
}

/** What an error body says, whichever generation of fields the server filled. */
export function readKumaError(body: KumaErrorBody): { title: string; detail: string | undefined; causes: ErrorCause[]; pending: string[] } {
  const causes = body.causes ?? (body.invalid_parameters ?? []).map((p) => ({ field: p.field, message: p.reason }));
  return { title: body.title, detail: body.detail ?? body.details, causes, pending: body.pending ?? [] };
}
