/**
 * `constraints` (Kuma's validateConstraints with ValidateSelector), `routing` (zoneEgress needs mTLS),
 * and the types of the remaining Mesh fields. Pure.
 */
import { z } from 'zod';
import type { Mesh } from './schema';
import type { Issues } from './validate-issues';
import { protoBool, protoEnum, protoList, protoString, protoStringMap } from './validate-proto';

const RulesSchema = z.looseObject({ tags: protoStringMap });
export const ConstraintsSchema = z.looseObject({
  dataplaneProxy: z.looseObject({ requirements: protoList(RulesSchema), restrictions: protoList(RulesSchema) }).nullish(),
});
export const RoutingSchema = z.looseObject({ localityAwareLoadBalancing: protoBool, zoneEgress: protoBool, defaultForbidMeshExternalServiceAccess: protoBool });
const NetworkingSchema = z.looseObject({ outbound: z.looseObject({ passthrough: protoBool }).nullish() });
const MeshServicesSchema = z.looseObject({ mode: protoEnum(['Disabled', 'Everywhere', 'ReachableBackends', 'Exclusive']) });

const TAG_NAME = /^[a-zA-Z0-9.\-_:/]*$/;
const SELECTOR_VALUE = /^([a-zA-Z0-9.\-_:/]*|\*)$/;

export function checkConstraints(value: unknown, issues: Issues): void {
  const constraints = issues.parse(ConstraintsSchema, value);
  const proxy = constraints?.dataplaneProxy;
  if (!proxy) return;
  const at = issues.at('dataplaneProxy');
  (proxy.requirements ?? []).forEach((rule, index) => checkSelector(rule.tags ?? {}, at.at('requirements', index, 'tags')));
  (proxy.restrictions ?? []).forEach((rule, index) => checkSelector(rule.tags ?? {}, at.at('restrictions', index, 'tags')));
}

/** Kuma's ValidateSelector with RequireAtLeastOneTag; keys in sorted order, as Kuma reports them. */
function checkSelector(tags: Record<string, string>, issues: Issues): void {
  const keys = Object.keys(tags).sort();
  if (keys.length === 0) issues.error('must have at least one tag');
  for (const key of keys) {
    const value = tags[key] as string;
    if (key === '') issues.error('tag name must be non-empty');
    if (!TAG_NAME.test(key)) issues.error('tag name must consist of alphanumeric characters, dots, dashes, slashes and underscores', { key });
    if (value === '') issues.error('tag value must be non-empty', { key });
    if (!SELECTOR_VALUE.test(value)) issues.error('tag value must consist of alphanumeric characters, dots, dashes, slashes and underscores or be "*"', { key });
  }
}

/** `routing.zoneEgress` sends cross-zone traffic through the egress over mTLS: Kuma requires mTLS on. */
export function checkRouting(mesh: Mesh, issues: Issues): void {
  const routing = issues.at('routing').parse(RoutingSchema.nullish(), mesh.routing);
  if (routing?.zoneEgress && !mesh.mtls?.enabledBackend) issues.error('has to be set when zoneEgress enabled', 'mtls');
}

/** Fields without rules of their own: Kuma refuses only a wrong type. */
export function checkOtherFields(mesh: Mesh, issues: Issues): void {
  issues.at('networking').parse(NetworkingSchema.nullish(), mesh.networking);
  issues.at('meshServices').parse(MeshServicesSchema.nullish(), mesh.meshServices);
  issues.at('skipCreatingInitialPolicies').parse(protoList(protoString), mesh.skipCreatingInitialPolicies);
}
