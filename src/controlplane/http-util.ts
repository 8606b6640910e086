/** Small HTTP helpers: Kuma's error body, JSON bodies read with a size cap, zod issues as causes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { type ErrorCause, type KumaErrorBody, kumaErrorBody } from '../mesh/api-error';
import { errorMessage } from '../mesh/errors';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly details?: string,
    readonly causes?: ErrorCause[],
    readonly pending?: string[],
  ) {
    super(details ? `${title}: ${details}` : title);
    this.name = 'ApiError';
  }

  body(): KumaErrorBody {
    // kumactl prints the causes, not our `pending`: the proxies a refusal waits for go in both.
    const pendingCause = this.pending?.length ? [{ field: 'pending proxies', message: this.pending.join(', ') }] : [];
    return kumaErrorBody(this.status, this.title, this.details, this.causes ?? pendingCause, this.pending);
  }
}

/** Kuma's titles: kumactl prints them first, so they read as Kuma's do. */
export const badRequest = (details: string, causes: ErrorCause[]): ApiError => new ApiError(400, 'Could not process a resource', details, causes);
export const notFound = (what: string): ApiError => new ApiError(404, 'Could not retrieve a resource', what);

/** `mtls.backends[1].conf` from zod's path array. */
export function fieldPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(body)';
}

export function parseBody<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw badRequest(
    `invalid ${what}`,
    result.error.issues.map((issue) => ({ field: fieldPath(issue.path), message: issue.message })),
  );
}

/** Meshes, Secrets, token and reissue requests: far below this. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** A registration of the most proxies one request may carry (see MAX_PROXIES_PER_REQUEST). */
export const LARGE_MAX_BODY_BYTES = 32 * 1024 * 1024;
/** No API document nests deeper; a deeper one is refused before anything recurses over it. */
export const MAX_JSON_DEPTH = 32;

export async function readJson(req: IncomingMessage, maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new ApiError(413, 'Payload Too Large', `the body exceeds ${maxBytes} bytes`, [{ field: '(body)', message: `at most ${maxBytes} bytes` }]);
  // A body that trickles is cut by the server's requestTimeout (server.ts), not here.
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new ApiError(413, 'Payload Too Large', `the body exceeds ${maxBytes} bytes`, [{ field: '(body)', message: `at most ${maxBytes} bytes` }]);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw badRequest('the body is empty: a JSON document was expected', [{ field: '(body)', message: 'required' }]);
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw badRequest(`the body nests deeper than ${MAX_JSON_DEPTH} levels`, [{ field: '(body)', message: `at most ${MAX_JSON_DEPTH} levels of nesting` }]);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest('the body is not valid JSON', [{ field: '(body)', message: errorMessage(err) }]);
  }
}

/** The deepest nesting of arrays and objects in JSON text (strings skipped), without parsing it. */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.status, error.body(), error.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
}

/** `"7"` or `7` or `W/"7"` → 7; anything else is a 400 naming the header. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(header.trim());
  if (!match) throw badRequest('If-Match must be a mesh version as returned in ETag, e.g. "3"', [{ field: 'If-Match', message: `"${header}" is not a version` }]);
  return Number(match[1]);
}
