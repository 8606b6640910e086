/**
 * Where validation findings go. Like Kuma's `validators.PathBuilder`: a check reports relative to the
 * value it was given, and the caller roots it (`issues.at('mtls', 'backends', 2, 'conf')`), so a
 * backend's conf rules write `cert`, not `mtls.backends[2].conf.cert`. Pure.
 */
import type { z } from 'zod';
import type { ValidationIssue, ValidationResult } from './schema';

/** A field name, a list index, or a map key (printed `tags["kuma.io/zone"]`, as Kuma does). */
export type PathSegment = string | number | { key: string };

export function appendPath(base: string, segments: readonly PathSegment[]): string {
  let path = base;
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (typeof segment === 'object') path += `[${JSON.stringify(segment.key)}]`;
    else if (segment.startsWith('[') || path === '') path += segment;
    else if (segment !== '') path += `.${segment}`;
  }
  return path;
}

/** The findings in order, each path + message once (two checks may report the same fault). */
export function distinctIssues(issues: readonly ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = JSON.stringify([issue.path, issue.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export class Issues {
  private constructor(
    private readonly sink: ValidationResult,
    readonly path: string,
    /** Set under `mtls.skipValidation: true`: the checks Kuma skips there become warnings. */
    private readonly notEnforcedBecause: string | undefined,
  ) {}

  static collect(): Issues {
    return new Issues({ errors: [], warnings: [] }, '', undefined);
  }

  get result(): ValidationResult {
    return this.sink;
  }

  /** The same sink, rooted further down. */
  at(...segments: PathSegment[]): Issues {
    return new Issues(this.sink, appendPath(this.path, segments), this.notEnforcedBecause);
  }

  /** The same sink, where error() only warns (a check Kuma skips for the given reason). */
  notEnforced(reason: string): Issues {
    return new Issues(this.sink, this.path, reason);
  }

  /** A rule Kuma enforces too. */
  error(message: string, ...segments: PathSegment[]): void {
    const path = appendPath(this.path, segments);
    if (this.notEnforcedBecause === undefined) this.sink.errors.push({ path, message });
    else this.sink.warnings.push({ path, message: `${message} (not enforced: ${this.notEnforcedBecause})` });
  }

  /** One of our deliberately stricter rules (a rotation would break): an error even where Kuma skips checks. */
  stricter(message: string, ...segments: PathSegment[]): void {
    this.sink.errors.push({ path: appendPath(this.path, segments), message });
  }

  warn(message: string, ...segments: PathSegment[]): void {
    this.sink.warnings.push({ path: appendPath(this.path, segments), message });
  }

  /** Every zod issue at its path; returns whether there were none. */
  zod(error: z.ZodError | undefined): boolean {
    if (!error) return true;
    for (const issue of error.issues) this.error(describeZodIssue(issue), ...(issue.path as PathSegment[]).map(toSegment));
    return false;
  }

  /** A zod parse: the data when it fits, otherwise every issue reported and undefined. */
  parse<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
    const parsed = schema.safeParse(value);
    this.zod(parsed.success ? undefined : parsed.error);
    return parsed.success ? parsed.data : undefined;
  }
}

function toSegment(segment: unknown): PathSegment {
  return typeof segment === 'number' || typeof segment === 'string' ? segment : String(segment);
}

/** zod's issue, told the way a person editing YAML wants to read it. */
export function describeZodIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return `is required (${issue.expected})`;
  if (issue.code === 'invalid_type') return issue.message.replace(/^Invalid input: /, '');
  return issue.message;
}
