/**
 * The rotation plan: the three Mesh versions that move a mesh from its enabled backend to a new one,
 * following the Kong Mesh procedure (add, switch, remove). Pure: safe inside workflow code.
 */
import { Backend, Mesh, ValidationIssue, backendNamed } from './schema';
import type { RotationStepName } from './gates';

export interface RotationPlan {
  mesh: string;
  from: string;
  to: string;
  /** The backend being introduced, as the target defines it. */
  toBackend: Backend;
  steps: { name: RotationStepName; mesh: Mesh }[];
}

export type PlanResult = { ok: true; plan: RotationPlan } | { ok: false; errors: ValidationIssue[] };

export function withBackend(mesh: Mesh, backend: Backend): Mesh {
  const backends = (mesh.mtls?.backends ?? []).filter((b) => b.name !== backend.name);
  return { ...mesh, mtls: { ...mesh.mtls, backends: [...backends, backend] } };
}

export function withEnabledBackend(mesh: Mesh, name: string): Mesh {
  return { ...mesh, mtls: { ...mesh.mtls, enabledBackend: name } };
}

export function withoutBackend(mesh: Mesh, name: string): Mesh {
  return { ...mesh, mtls: { ...mesh.mtls, backends: (mesh.mtls?.backends ?? []).filter((b) => b.name !== name) } };
}

/**
 * `target` names the new backend as its `mtls.enabledBackend` and defines it in `mtls.backends`;
 * everything else comes from `current`.
 */
export function planRotation(current: Mesh, target: Mesh): PlanResult {
  const errors: ValidationIssue[] = [];
  if (current.name !== target.name) {
    errors.push({ path: 'name', message: `target mesh "${target.name}" is not the current mesh "${current.name}"` });
  }
  const from = current.mtls?.enabledBackend;
  const to = target.mtls?.enabledBackend;
  if (!from) errors.push({ path: 'mtls.enabledBackend', message: `the current mesh "${current.name}" has no mTLS enabled: there is no CA to rotate` });
  if (!to) errors.push({ path: 'mtls.enabledBackend', message: 'the target must name the new backend in mtls.enabledBackend' });
  const toBackend = backendNamed(target, to);
  if (to && !toBackend) errors.push({ path: 'mtls.enabledBackend', message: `the target enables "${to}" but does not define it in mtls.backends` });
  if (from && to && from === to) {
    errors.push({ path: 'mtls.enabledBackend', message: `the target enables "${to}", which is already the enabled backend: give the new CA a new backend name` });
  }
  if (to && from !== to && backendNamed(current, to)) {
    errors.push({ path: 'mtls.enabledBackend', message: `backend "${to}" already exists in the current mesh: a rotation adds a new backend` });
  }
  if (errors.length > 0 || !from || !to || !toBackend) return { ok: false, errors };

  const added = withBackend(current, toBackend);
  const switched = withEnabledBackend(added, to);
  const removed = withoutBackend(switched, from);
  return {
    ok: true,
    plan: {
      mesh: current.name,
      from,
      to,
      toBackend,
      steps: [
        { name: 'add-backend', mesh: added },
        { name: 'switch-enabled', mesh: switched },
        { name: 'remove-old', mesh: removed },
      ],
    },
  };
}
