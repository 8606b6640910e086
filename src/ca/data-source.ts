/**
 * Loading Kuma data sources (`secret`, `inline`, `inlineString`, `file`). Never throws: a source that
 * cannot be loaded becomes a ValidationIssue naming its path, and never quotes the data it holds.
 */
import { readFile } from 'node:fs/promises';
import { decodeBase64 } from '../mesh/base64';
import type { ValidationIssue } from '../mesh/schema';
import type { CaContext } from './types';

export type Loaded = { ok: true; data: Buffer } | { ok: false; issue: ValidationIssue };

const KEYS = ['secret', 'inline', 'inlineString', 'file'] as const;

export async function loadDataSource(ctx: CaContext, source: unknown, path: string, what: string): Promise<Loaded> {
  const fail = (message: string, at = path): Loaded => ({ ok: false, issue: { path: at, message } });
  if (source === undefined || source === null) return fail(`${what} is missing`);
  if (typeof source !== 'object' || Array.isArray(source)) return fail(`${what} must be a data source: one of ${KEYS.join(', ')}`);
  const record = source as Record<string, unknown>;
  const present = KEYS.filter((k) => record[k] !== undefined);
  if (present.length !== 1) return fail(`${what} must set exactly one of ${KEYS.join(', ')}`);
  const key = present[0] as (typeof KEYS)[number];
  const value = record[key];
  const at = `${path}.${key}`;
  if (typeof value !== 'string') return fail(`${key} must be a string`, at);
  switch (key) {
    case 'secret': {
      let data: Buffer | undefined;
      try {
        data = await ctx.secrets.get(ctx.mesh, value);
      } catch (error) {
        return fail(`cannot read secret "${value}" of mesh "${ctx.mesh}": ${(error as Error).message}`, at);
      }
      return data ? { ok: true, data } : fail(`secret "${value}" does not exist in mesh "${ctx.mesh}"`, at);
    }
    case 'inline': {
      const bytes = decodeBase64(value.replace(/\s+/g, ''));
      return bytes ? { ok: true, data: Buffer.from(bytes) } : fail(`${what} is not valid base64`, at);
    }
    case 'inlineString':
      return { ok: true, data: Buffer.from(value, 'utf8') };
    case 'file':
      try {
        return { ok: true, data: await readFile(value) };
      } catch (error) {
        return fail(`cannot read file "${value}": ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, at);
      }
  }
}

/** Throws CaConfigurationError-compatible issues for callers that must not go on (openIssuer). */
export function issueMessage(issue: ValidationIssue): string {
  return `${issue.path}: ${issue.message}`;
}
