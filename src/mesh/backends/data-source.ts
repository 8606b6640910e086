/**
 * Kuma's DataSource (`api/system/v1alpha1/datasource.proto`): exactly one of `secret`, `file`,
 * `inline` (base64 bytes) or `inlineString`. The rules of Kuma's `datasource.Validate`, plus whether a
 * named Secret exists (Kuma finds that out when it loads the source). Pure.
 */
import { z } from 'zod';
import { isBase64 } from '../base64';
import type { Issues } from '../validate-issues';
import { protoString } from '../validate-proto';

export const DATA_SOURCE_KEYS = ['secret', 'inline', 'inlineString', 'file'] as const;
export type DataSourceKey = (typeof DATA_SOURCE_KEYS)[number];

export const DataSourceSchema = z
  .looseObject({ secret: protoString, file: protoString, inline: protoString, inlineString: protoString })
  .superRefine((source, context) => {
    const present = presentKeys(source);
    if (present.length > 1) context.addIssue({ code: 'custom', message: `has both ${present.join(' and ')}: use exactly one of ${DATA_SOURCE_KEYS.join(', ')}` });
    if (typeof source.inline === 'string' && !isBase64(source.inline.replace(/\s+/g, ''))) {
      context.addIssue({ code: 'custom', path: ['inline'], message: 'is not valid base64: inline holds base64-encoded bytes (use inlineString for PEM text)' });
    }
  });
export type DataSource = z.infer<typeof DataSourceSchema>;

export function presentKeys(source: DataSource): DataSourceKey[] {
  return DATA_SOURCE_KEYS.filter((key) => source[key] !== undefined && source[key] !== null);
}

/** The one key a valid data source sets. */
export function dataSourceKey(source: DataSource): DataSourceKey | undefined {
  const present = presentKeys(source);
  return present.length === 1 ? present[0] : undefined;
}

export interface DataSourceRules {
  /** What it holds, for messages: "the CA certificate (PEM)". */
  what: string;
  /** Keys and tokens: inline copies end up in every copy of the Mesh (workflow history included). */
  sensitive: boolean;
  meshName: string;
  /** Secrets of the mesh; undefined when they are not known (then references are not checked). */
  knownSecrets: ReadonlySet<string> | undefined;
}

/** Checks a data source that has to be there, reported at `issues`' path. */
export function checkDataSource(value: unknown, issues: Issues, rules: DataSourceRules): void {
  if (value === undefined || value === null) {
    issues.error(`has to be defined: ${rules.what}, as a data source (secret, inline, inlineString or file)`);
    return;
  }
  const source = issues.parse(DataSourceSchema, value);
  if (!source) return;
  const key = dataSourceKey(source);
  if (key === undefined) {
    if (presentKeys(source).length === 0) issues.error(`data source has to be chosen. Available sources: ${DATA_SOURCE_KEYS.join(', ')} (e.g. secret: <name of a Secret> for ${rules.what})`);
    return;
  }
  const text = source[key] as string;
  if (text === '' && key !== 'inlineString') issues.error('cannot be empty', key);
  if (key === 'secret' && text !== '' && rules.knownSecrets && !rules.knownSecrets.has(text)) {
    issues.error(`no Secret named "${text}" in mesh "${rules.meshName}": define it (a Secret document in the same file) before the Mesh uses it`, key);
  }
  if (rules.sensitive && (key === 'inline' || key === 'inlineString')) {
    issues.warn(`${rules.what} is written into the Mesh itself: anyone who can read the Mesh can read it; prefer secret: <name>`, key);
  }
}
