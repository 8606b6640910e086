/**
 * `npm run bench:check [-- FILE]`: reads the JSON lines of `npm run bench` (FILE, or stdin) and prints
 * which scale targets hold. Exit 0 when all hold, 1 when one does not or its figures are missing.
 */
import fs from 'node:fs';
import type { IssuanceRecord } from './issue';
import type { RotationRecord } from './run';

const TARGET_PROXIES = 10_000;
const MAX_ROTATION_MS = 30_000;
const MIN_CERTIFICATES_PER_SECOND = 5_000;
const MAX_HISTORY_EVENTS = 500;
/** "About the same at every size": the largest count at most this many times the smallest. */
const MAX_HISTORY_SPREAD = 1.5;
const MAX_WORKER_PLUS_CONTROL_PLANE_MIB = 1024;

type Verdict = 'PASS' | 'FAIL' | 'MISSING';

interface Check {
  target: string;
  verdict: Verdict;
  detail: string;
}

function readInput(): string {
  const file = process.argv[2];
  return fs.readFileSync(file ?? 0, 'utf8');
}

function parseRecords(text: string): { issuance: IssuanceRecord[]; rotations: RotationRecord[] } {
  const issuance: IssuanceRecord[] = [];
  const rotations: RotationRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    let record: { bench?: unknown };
    try {
      record = JSON.parse(line) as { bench?: unknown };
    } catch {
      continue;
    }
    if (record.bench === 'issue') issuance.push(record as IssuanceRecord);
    if (record.bench === 'rotation') rotations.push(record as RotationRecord);
  }
  return { issuance, rotations };
}

function checkIssuance(issuance: readonly IssuanceRecord[], backend: string): Check {
  const target = `issuance ${backend} ecdsa-p256 >= ${MIN_CERTIFICATES_PER_SECOND}/s`;
  // The signing-thread configuration the control plane runs with (threads > 0), not the in-thread comparison.
  const record = issuance.find((r) => r.backend === backend && r.keyType === 'ecdsa-p256' && r.threads !== 0);
  if (!record) return { target, verdict: 'MISSING', detail: 'no such issuance line' };
  return { target, verdict: record.perSecond >= MIN_CERTIFICATES_PER_SECOND ? 'PASS' : 'FAIL', detail: `${record.perSecond}/s` };
}

function checkRotations(rotations: readonly RotationRecord[]): Check[] {
  const checks: Check[] = [];
  const large = rotations.find((r) => r.proxies === TARGET_PROXIES);
  const rotationTarget = `${TARGET_PROXIES} proxies rotated in <= ${MAX_ROTATION_MS / 1000} s with 0 failed requests`;
  const memoryTarget = `worker + control plane peak RSS <= ${MAX_WORKER_PLUS_CONTROL_PLANE_MIB} MiB at ${TARGET_PROXIES}`;
  if (!large) {
    checks.push({ target: rotationTarget, verdict: 'MISSING', detail: `no rotation line for ${TARGET_PROXIES} proxies` });
    checks.push({ target: memoryTarget, verdict: 'MISSING', detail: `no rotation line for ${TARGET_PROXIES} proxies` });
  } else {
    const holds = large.status === 'COMPLETED' && large.rotationMs <= MAX_ROTATION_MS && large.traffic.failed === 0;
    checks.push({ target: rotationTarget, verdict: holds ? 'PASS' : 'FAIL', detail: `${large.status} in ${(large.rotationMs / 1000).toFixed(1)} s, ${large.traffic.failed} of ${large.traffic.requests} requests failed` });
    const peak = large.peakRssMiB.workerPlusControlPlane;
    checks.push({ target: memoryTarget, verdict: peak <= MAX_WORKER_PLUS_CONTROL_PLANE_MIB ? 'PASS' : 'FAIL', detail: `${peak} MiB (worker ${large.peakRssMiB.worker}, control plane ${large.peakRssMiB.controlPlane})` });
  }

  const everyFailed = rotations.filter((r) => r.traffic.failed > 0 || r.status !== 'COMPLETED');
  checks.push({
    target: 'every rotation completed with 0 failed requests',
    verdict: rotations.length === 0 ? 'MISSING' : everyFailed.length === 0 ? 'PASS' : 'FAIL',
    detail: rotations.map((r) => `${r.proxies}: ${r.status}, ${r.traffic.failed} failed`).join('; ') || 'no rotation lines',
  });

  const events = rotations.map((r) => r.historyEvents);
  const eventsDetail = rotations.map((r) => `${r.proxies}: ${r.historyEvents}`).join('; ');
  checks.push({
    target: `history events <= ${MAX_HISTORY_EVENTS} per rotation`,
    verdict: events.length === 0 ? 'MISSING' : Math.max(...events) <= MAX_HISTORY_EVENTS ? 'PASS' : 'FAIL',
    detail: eventsDetail || 'no rotation lines',
  });
  const spread = events.length > 0 ? Math.max(...events) / Math.max(1, Math.min(...events)) : 0;
  checks.push({
    target: `history events about the same at every size (largest <= ${MAX_HISTORY_SPREAD}x smallest)`,
    verdict: events.length < 2 ? 'MISSING' : spread <= MAX_HISTORY_SPREAD ? 'PASS' : 'FAIL',
    detail: `${spread.toFixed(2)}x (${eventsDetail})`,
  });
  return checks;
}

function main(): number {
  const { issuance, rotations } = parseRecords(readInput());
  const checks = [checkIssuance(issuance, 'builtin'), checkIssuance(issuance, 'provided'), ...checkRotations(rotations)];
  for (const check of checks) process.stdout.write(`${check.verdict.padEnd(7)} ${check.target}: ${check.detail}\n`);
  return checks.every((check) => check.verdict === 'PASS') ? 0 : 1;
}

process.exitCode = main();
