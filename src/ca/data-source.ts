/**
 * Loading Kuma data sources (`secret`, `inline`, `inlineString`, `file`), read with the one
 * DataSourceSchema. Never throws: a source that cannot be loaded becomes a finding naming its path,
 * and never quotes the data it holds.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { decodeBase64 } from '../mesh/base64';
import { DATA_SOURCE_KEYS, DataSourceSchema, dataSourceKey } from '../mesh/backends/data-source';
import type { ValidationIssue } from '../mesh/schema';
import { CaConfigError, CaUnavailableError } from './errors';
import type { CaContext } from './types';

/** `transient`: the secret store failed to answer; trying again may work. */
export type Loaded = { ok: true; data: Buffer } | { ok: false; issue: ValidationIssue; transient: boolean };

export async function loadDataSource(ctx: CaContext, value: unknown, path: string, what: string): Promise<Loaded> {
  const fail = (message: string, at = path, transient = false): Loaded => ({ ok: false, issue: { path: at, message }, transient });
  if (value === undefined || value === null) return fail(`${what} is missing`);
  const parsed = DataSourceSchema.safeParse(value);
  const key = parsed.success ? dataSourceKey(parsed.data) : undefined;
  if (!parsed.success || key === undefined) return fail(`${what} must be a data source with exactly one of ${DATA_SOURCE_KEYS.join(', ')}`);
  const text = parsed.data[key] as string;
  const at = `${path}.${key}`;
  switch (key) {
    case 'secret': {
      let data: Buffer | undefined;
      try {
        data = await ctx.secrets.get(ctx.mesh, text);
      } catch (error) {
        return fail(`cannot read secret "${text}" of mesh "${ctx.mesh}": ${(error as Error).message}`, at, true);
      }
      return data ? { ok: true, data } : fail(`secret "${text}" does not exist in mesh "${ctx.mesh}"`, at);
    }
    case 'inline': {
      const bytes = decodeBase64(text.replace(/\s+/g, ''));
      return bytes ? { ok: true, data: Buffer.from(bytes) } : fail(`${what} is not valid base64`, at);
    }
    case 'inlineString':
      return { ok: true, data: Buffer.from(text, 'utf8') };
    case 'file':
      return readBoundedFile(text, at);
  }
}

/** PEM certificates and keys are small: a bigger file (or a device such as /dev/zero) is not one. */
export const MAX_DATA_SOURCE_FILE_BYTES = 1024 * 1024;

async function readBoundedFile(file: string, at: string): Promise<Loaded> {
  let handle: FileHandle | undefined;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused as not a regular file).
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, issue: { path: at, message: `"${file}" is not a regular file` }, transient: false };
    if (stat.size > MAX_DATA_SOURCE_FILE_BYTES) return { ok: false, issue: { path: at, message: `"${file}" is larger than ${MAX_DATA_SOURCE_FILE_BYTES} bytes` }, transient: false };
    return { ok: true, data: await handle.readFile() };
  } catch (error) {
    return { ok: false, issue: { path: at, message: `cannot read file "${file}": ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}` }, transient: false };
  } finally {
    await handle?.close();
  }
}

/** For callers that must not go on (ensure, openIssuer): the right error of the family. */
export function loadFailure(failed: Extract<Loaded, { ok: false }>): CaConfigError | CaUnavailableError {
  const message = `${failed.issue.path}: ${failed.issue.message}`;
  return failed.transient ? new CaUnavailableError(message, { path: failed.issue.path }) : new CaConfigError(message, { path: failed.issue.path });
}
