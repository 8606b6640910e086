/**
 * The rotation workflow's public surface: input, status, and the messages (signal, query, updates)
 * that the control plane, the CLI and the Temporal UI use. Pure definitions.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Mesh } from '../mesh/schema';
import { PROXY_ACKS_SIGNAL, type ProxyAckBatch } from '../mesh/insights';

export const ROTATION_TASK_QUEUE = 'ca-rotation';
export const ROTATION_WORKFLOW_TYPE = 'caRotationWorkflow';

export type ApprovalMode = 'auto' | 'manual';

/** What to do with proxies that are offline while a gate waits. */
export type OfflineProxyPolicy = { mode: 'wait' } | { mode: 'exclude'; afterMs: number };

export interface RotationOptions {
  approval: ApprovalMode;
  /** A gate still open after this long pauses the rotation and names the stragglers. */
  stepTimeoutMs: number;
  offlineProxies: OfflineProxyPolicy;
  /** How often a waiting gate re-reads insights, a safety net against lost signals. */
  reconcileIntervalMs: number;
  reissueBatchSize: number;
  /** Continue as new past this many history events (besides when the server suggests it); 0 = only then. */
  continueAsNewAfterEvents: number;
}

export const DEFAULT_ROTATION_OPTIONS: RotationOptions = {
  approval: 'auto',
  stepTimeoutMs: 10 * 60_000,
  offlineProxies: { mode: 'wait' },
  reconcileIntervalMs: 5_000,
  reissueBatchSize: 500,
  continueAsNewAfterEvents: 0,
};

export interface RotationInput {
  mesh: string;
  /** The target Mesh: its `mtls.enabledBackend` names the new backend. Secrets only by reference. */
  target: Mesh;
  options?: Partial<RotationOptions>;
}

export type ActionName =
  | 'add-backend'
  | 'switch-enabled'
  | 'remove-old'
  | 'switch-back'
  | 'remove-new';

export type ActionState = 'pending' | 'waiting-approval' | 'applying' | 'reissuing' | 'waiting' | 'done' | 'interrupted';

export interface ActionStatus {
  name: ActionName;
  state: ActionState;
  proxies: { total: number; done: number };
  /** The first stragglers, sorted. */
  pending: string[];
  startedAt?: string;
  appliedAt?: string;
  completedAt?: string;
  meshVersion?: number;
  reissued?: number;
}

export type RotationPhase = 'preflight' | 'rotating' | 'aborting' | 'rolling-back' | 'completed' | 'aborted' | 'rolled-back';

export interface RotationStatus {
  workflowId: string;
  mesh: string;
  /** RUNNING while the workflow runs, then COMPLETED / ABORTED / ROLLED_BACK. */
  status: 'RUNNING' | 'COMPLETED' | 'ABORTED' | 'ROLLED_BACK';
  phase: RotationPhase;
  /** The action in progress (or the last one). */
  step: ActionName | 'preflight' | 'done';
  steps: ActionStatus[];
  from: string;
  to: string;
  approval: ApprovalMode;
  paused: boolean;
  pauseReason?: string;
  waitingForApproval: boolean;
  excludedProxies: number;
  startedAt: string;
  updatedAt: string;
  signalsReceived: number;
}

export interface RotationResult {
  status: 'COMPLETED' | 'ABORTED' | 'ROLLED_BACK';
  mesh: string;
  from: string;
  to: string;
  steps: ActionStatus[];
  meshVersions: number[];
  signalsReceived: number;
  startedAt: string;
  completedAt: string;
}

export const proxyAcksSignal = defineSignal<[ProxyAckBatch]>(PROXY_ACKS_SIGNAL);
export const statusQuery = defineQuery<RotationStatus>('status');

/** Each control answers with one line saying what it did; a refusal is a rejected update with the reason. */
export const pauseUpdate = defineUpdate<string, [{ reason?: string }]>('pause');
export const resumeUpdate = defineUpdate<string>('resume');
export const approveUpdate = defineUpdate<string>('approve');
export const abortUpdate = defineUpdate<string>('abort');
export const rollbackUpdate = defineUpdate<string>('rollback');

export const CONTROL_UPDATES = { pause: pauseUpdate, resume: resumeUpdate, approve: approveUpdate, abort: abortUpdate, rollback: rollbackUpdate } as const;
export type ControlName = keyof typeof CONTROL_UPDATES;
