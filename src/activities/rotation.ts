/**
 * Thin adapters from the rotation workflow's intents to the control plane and the CA backends.
 * Failures the workflow must not retry are ApplicationFailures of the types in NON_RETRYABLE_FAILURES;
 * anything else (control plane or Vault down, a 422 while insights catch up) is retried with backoff.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ControlPlaneClient } from '../controlplane/client';
import { ControlPlaneError } from '../controlplane/client';
import type { ProxySnapshot } from '../mesh/insights';
import { planRotation } from '../mesh/plan';
import type { Mesh } from '../mesh/schema';
import { validateMesh } from '../mesh/validate';
import type {
  ApplyMeshInput,
  ApplyMeshResult,
  PreflightInput,
  PreflightResult,
  ReissueInput,
  ReissueResult,
  RotationActivities,
} from './types';

/** Validates the backend a rotation introduces with the CA backend's own checks (a vault test issue included). */
export type TargetBackendValidator = (target: Mesh, backendIndex: number) => Promise<{ errors: { path: string; message: string }[]; warnings: { path: string; message: string }[] }>;

export interface RotationActivityDeps {
  controlPlane: ControlPlaneClient;
  validateTargetBackend: TargetBackendValidator;
}

/** Key order and server-added fields must not make two equal mTLS sections look different. */
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

function withoutServerFields(mesh: Mesh): Mesh {
  const { creationTime: _c, modificationTime: _m, ...rest } = mesh as Mesh & { creationTime?: unknown; modificationTime?: unknown };
  return rest as Mesh;
}

export function createRotationActivities(deps: RotationActivityDeps): RotationActivities {
  const cp = deps.controlPlane;

  async function preflight(input: PreflightInput): Promise<PreflightResult> {
    const found = await cp.getMesh(input.mesh);
    if (!found) throw ApplicationFailure.nonRetryable(`mesh "${input.mesh}" does not exist on the control plane`, 'MeshNotFound');
    const current = withoutServerFields(found.mesh);
    const planned = planRotation(current, input.target);
    if (!planned.ok) {
      throw ApplicationFailure.nonRetryable(planned.errors.map((e) => `${e.path}: ${e.message}`).join('; '), 'InvalidRotationTarget');
    }
    // Validate the mesh as step 1 will write it: the current backends plus the new one.
    const withNewBackend = planned.plan.steps.find((s) => s.name === 'add-backend')?.mesh ?? current;
    const staticCheck = validateMesh(withNewBackend, undefined);
    const index = (withNewBackend.mtls?.backends ?? []).findIndex((b) => b.name === planned.plan.to);
    const backendCheck = await deps.validateTargetBackend(withNewBackend, index);
    const errors = [...staticCheck.errors, ...backendCheck.errors];
    if (errors.length > 0) {
      throw ApplicationFailure.nonRetryable(errors.map((e) => `${e.path}: ${e.message}`).join('; '), 'InvalidRotationTarget');
    }
    return { current, currentVersion: found.version, warnings: [...staticCheck.warnings, ...backendCheck.warnings] };
  }

  async function applyMeshVersion(input: ApplyMeshInput): Promise<ApplyMeshResult> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const found = await cp.getMesh(input.mesh);
      if (!found) throw ApplicationFailure.nonRetryable(`mesh "${input.mesh}" disappeared during the rotation`, 'MeshNotFound');
      if (found.version === input.expectedVersion) {
        try {
          const written = await cp.putMesh(input.desired, { ifVersion: input.expectedVersion, actor: input.actor });
          return { version: written.version, alreadyApplied: false };
        } catch (err) {
          // A concurrent writer or our own earlier attempt got there first: look again.
          if (err instanceof ControlPlaneError && err.status === 409) continue;
          throw err;
        }
      }
      if (found.version === input.expectedVersion + 1 && sameMtls(found.mesh, input.desired)) {
        return { version: found.version, alreadyApplied: true };
      }
      break;
    }
    throw ApplicationFailure.nonRetryable(
      `mesh "${input.mesh}" was changed outside the rotation (expected version ${input.expectedVersion}); inspect its history and start again`,
      'MeshChangedOutsideRotation',
    );
  }

  async function snapshotProxies(input: { mesh: string }): Promise<ProxySnapshot> {
    return cp.proxySnapshot(input.mesh);
  }

  async function reissueCertificates(input: ReissueInput): Promise<ReissueResult> {
    const context = Context.current();
    // A new attempt (after a worker died) resumes from the last batch the old one heartbeated.
    const resumed = context.info.heartbeatDetails as Partial<ReissueResult & { cursor: string | null }> | undefined;
    let cursor: string | null = resumed?.cursor ?? null;
    const totals: ReissueResult = { issued: resumed?.issued ?? 0, skipped: resumed?.skipped ?? 0, batches: resumed?.batches ?? 0 };
    if (resumed && resumed.cursor === null) return totals;
    do {
      const page = await cp.reissue(input.mesh, { after: cursor, limit: input.batchSize });
      totals.issued += page.issued;
      totals.skipped += page.skipped;
      totals.batches++;
      cursor = page.next;
      context.heartbeat({ ...totals, cursor });
    } while (cursor !== null && !context.cancellationSignal.aborted);
    return totals;
  }

  return { preflight, applyMeshVersion, snapshotProxies, reissueCertificates };
}
