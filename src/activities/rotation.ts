/**
 * Thin adapters from the rotation workflow's intents to a mesh target (a Kuma API control plane, or
 * Kubernetes) and the CA backends. What is retried and what is not: failures.ts.
 */
import { Context } from '@temporalio/activity';
import type { ProxySnapshot } from '../mesh/insights';
import { groupProxyStates } from '../mesh/insights';
import { planRotation } from '../mesh/plan';
import type { Mesh } from '../mesh/schema';
import { validateMesh } from '../mesh/validate';
import { distinctIssues } from '../mesh/validate-issues';
import { failFast, underFailureContract } from './failures';
import { multiBackendRotationRefusal } from './kuma-api-target';
import { type MeshRead, type MeshTarget, type MeshTargetIdentity, MeshRevisionConflict } from './mesh-target';
import { readSettledProxies } from './proxy-insights';
import type {
  ApplyMeshInput,
  ApplyMeshResult,
  PreflightInput,
  PreflightResult,
  ReissueInput,
  ReissueTotals,
  RotationActivities,
} from './types';

/** Validates the backend a rotation introduces with the CA backend's own checks (a vault test issue included). */
export type TargetBackendValidator = (target: Mesh, backendIndex: number) => Promise<{ errors: { path: string; message: string }[]; warnings: { path: string; message: string }[] }>;

export interface RotationActivityDeps {
  target: MeshTarget;
  validateTargetBackend: TargetBackendValidator;
  /** The settle rule's wait for this control plane (proxy-insights.ts, `insightSettleMsFor`). */
  insightSettleMs: (identity: MeshTargetIdentity) => number;
}

/** Key order must not make two equal meshes look different. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sameMtls(a: Mesh, b: Mesh): boolean {
  return canonicalJson(a.mtls ?? {}) === canonicalJson(b.mtls ?? {});
}

export function sameMesh(a: Mesh, b: Mesh): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export function createRotationActivities(deps: RotationActivityDeps): RotationActivities {
  const target = deps.target;

  async function preflight(input: PreflightInput): Promise<PreflightResult> {
    const identity = await target.identify();
    if (!identity.capabilities.multiBackendRotation) throw failFast(multiBackendRotationRefusal(identity), 'UnsupportedControlPlane');
    const found = await target.getMesh(input.mesh);
    if (!found) throw failFast(`mesh "${input.mesh}" does not exist on the control plane`, 'MeshNotFound');
    const current = found.mesh;
    const planned = planRotation(current, input.target);
    if (!planned.ok) {
      throw failFast(planned.errors.map((e) => `${e.path}: ${e.message}`).join('; '), 'InvalidRotationTarget');
    }
    // Validate the mesh as step 1 will write it: the current backends plus the new one.
    const withNewBackend = planned.plan.steps.find((s) => s.name === 'add-backend')?.mesh ?? current;
    const staticCheck = validateMesh(withNewBackend, undefined);
    const index = (withNewBackend.mtls?.backends ?? []).findIndex((b) => b.name === planned.plan.to);
    const backendCheck = await deps.validateTargetBackend(withNewBackend, index);
    // Both checks may see the same fault (a conf the schema and the backend both reject): say it once.
    const errors = distinctIssues([...staticCheck.errors, ...backendCheck.errors]);
    if (errors.length > 0) {
      throw failFast(errors.map((e) => `${e.path}: ${e.message}`).join('; '), 'InvalidRotationTarget');
    }
    return { current, currentVersion: numberedVersion(found) ?? 0, warnings: distinctIssues([...staticCheck.warnings, ...backendCheck.warnings]) };
  }

  /** Our control plane's mesh version; undefined on targets that do not number them. */
  function numberedVersion(read: MeshRead | { revision?: string }): number | undefined {
    return read.revision !== undefined && /^\d+$/.test(read.revision) ? Number(read.revision) : undefined;
  }

  /**
   * Exactly once, with or without revisions: read; if the mesh already is what this step writes, a
   * retry finds its own earlier write (done); if it still is what the rotation last wrote, write,
   * conditional on the revision just read where the target has revisions; anything else is a change
   * made outside the rotation (refused). Without revisions (Kuma's API) one race remains: a write by
   * someone else between our read and our write (one round trip) is overwritten unseen; a later one is
   * seen at the next step.
   */
  async function applyMeshVersion(input: ApplyMeshInput): Promise<ApplyMeshResult> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const found = await target.getMesh(input.mesh);
      if (!found) throw failFast(`mesh "${input.mesh}" disappeared during the rotation`, 'MeshNotFound');
      const version = numberedVersion(found);
      const unchangedSincePlanned = input.previous ? sameMesh(found.mesh, input.previous) : version === input.expectedVersion;
      const alreadyApplied = input.previous ? sameMesh(found.mesh, input.desired) : version === input.expectedVersion + 1 && sameMtls(found.mesh, input.desired);
      if (alreadyApplied) return { version: version ?? input.expectedVersion + 1, alreadyApplied: true };
      if (!unchangedSincePlanned) break;
      try {
        const written = await target.putMesh(input.desired, {
          ...(found.revision !== undefined ? { ifRevision: found.revision } : {}),
          actor: input.actor,
          ...(input.excludeOffline?.length ? { excludeOffline: input.excludeOffline } : {}),
        });
        return { version: numberedVersion(written) ?? input.expectedVersion + 1, alreadyApplied: false };
      } catch (err) {
        // A concurrent writer got there between our read and our write: look again.
        if (err instanceof MeshRevisionConflict) continue;
        throw err;
      }
    }
    throw failFast(
      `mesh "${input.mesh}" was changed outside the rotation (it no longer is what the rotation wrote at version ${input.expectedVersion}); inspect it and start again`,
      'MeshChangedOutsideRotation',
    );
  }

  async function snapshotProxies(input: { mesh: string }): Promise<ProxySnapshot> {
    const identity = await target.identify();
    const reading = await readSettledProxies(target, input.mesh, deps.insightSettleMs(identity));
    return { mesh: input.mesh, asOfSeq: reading.seq, groups: groupProxyStates(reading.proxies) };
  }

  /** Where the control plane re-issues on its own (Kong Mesh, Kuma), the gate alone waits for it. */
  async function reissueCertificates(input: ReissueInput): Promise<ReissueTotals> {
    const context = Context.current();
    const identity = await target.identify();
    if (!identity.capabilities.reissue || !target.reissue) return { issued: 0, skipped: 0, batches: 0 };
    // A new attempt (after a worker died) resumes from the last batch the old one heartbeated.
    const resumed = context.info.heartbeatDetails as Partial<ReissueTotals & { cursor: string | null }> | undefined;
    let cursor: string | null = resumed?.cursor ?? null;
    const totals: ReissueTotals = { issued: resumed?.issued ?? 0, skipped: resumed?.skipped ?? 0, batches: resumed?.batches ?? 0 };
    if (resumed && resumed.cursor === null) return totals;
    do {
      const page = await target.reissue(input.mesh, { after: cursor, limit: input.batchSize });
      totals.issued += page.issued;
      totals.skipped += page.skipped;
      totals.batches++;
      cursor = page.next;
      context.heartbeat({ ...totals, cursor });
    } while (cursor !== null && !context.cancellationSignal.aborted);
    return totals;
  }

  return {
    preflight: (input) => underFailureContract(() => preflight(input)),
    applyMeshVersion: (input) => underFailureContract(() => applyMeshVersion(input)),
    snapshotProxies: (input) => underFailureContract(() => snapshotProxies(input)),
    reissueCertificates: (input) => underFailureContract(() => reissueCertificates(input)),
  };
}
