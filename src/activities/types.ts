/**
 * The activities the rotation workflow calls, as types only: workflow code imports this file and
 * nothing else from the activities room. Inputs and results never carry key material or tokens.
 */
import type { Mesh } from '../mesh/schema';
import type { ProxySnapshot } from '../mesh/insights';

export interface PreflightInput {
  mesh: string;
  /** The target Mesh: its `enabledBackend` is the new backend. Secret data only by reference. */
  target: Mesh;
}

export interface PreflightResult {
  current: Mesh;
  /** The mesh's version where the control plane numbers them (ours); otherwise 0, and each step counts one up. */
  currentVersion: number;
  warnings: { path: string; message: string }[];
}

export interface ApplyMeshInput {
  mesh: string;
  /** The version this change was planned against; a retry that finds it already applied succeeds. */
  expectedVersion: number;
  /**
   * The mesh as the rotation last wrote it (or read it in preflight): the write goes ahead only while
   * the control plane still holds exactly this. Absent in histories from before control planes
   * without versions were supported; then the version alone decides.
   */
  previous?: Mesh;
  desired: Mesh;
  /** Written to the mesh history as the actor, e.g. `ca-rotation/default: add-backend`. */
  actor: string;
  /**
   * Offline proxies the rotation's offline policy left out of its gates: the control plane's own
   * admission leaves them out of this edit too, as long as they are still offline (ours; Kong Mesh's
   * validators decide for themselves). Absent in older histories.
   */
  excludeOffline?: string[];
}

export interface ApplyMeshResult {
  version: number;
  /** True when an earlier attempt had already applied this exact change (a retry after a lost reply). */
  alreadyApplied: boolean;
}

export interface ReissueInput {
  mesh: string;
  batchSize: number;
}

/** What step 2's batched re-issue did, over all its pages (one page is the control plane's `ReissuePage`). */
export interface ReissueTotals {
  issued: number;
  skipped: number;
  batches: number;
}

export interface RotationActivities {
  preflight(input: PreflightInput): Promise<PreflightResult>;
  applyMeshVersion(input: ApplyMeshInput): Promise<ApplyMeshResult>;
  snapshotProxies(input: { mesh: string }): Promise<ProxySnapshot>;
  reissueCertificates(input: ReissueInput): Promise<ReissueTotals>;
}

/** Failure types the workflow must not retry: the input or the world is wrong, not flaky (see failures.ts). */
export const NON_RETRYABLE_FAILURES = [
  'InvalidRotationTarget',
  'MeshChangedOutsideRotation',
  'MeshNotFound',
  'UnsupportedControlPlane',
  'ControlPlaneRefused',
  'ControlPlaneCredentials',
  'InvalidCaBackend',
  'KubernetesPermanentError',
] as const;

export type NonRetryableFailure = (typeof NON_RETRYABLE_FAILURES)[number];
