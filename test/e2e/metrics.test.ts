/**
 * What an operator's Prometheus sees during a rotation: the worker's endpoint (the Temporal SDK's
 * metrics and the rotation's progress), the control plane's `/metrics` (issuance, connected proxies,
 * admission refusals) and the proxies' traffic counters (trust failures). Scraped while a real rotation
 * runs on the test run's Temporal server, with the worker as a separate process like in production.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { prepareTarget, type LocalStack } from '../../src/cli/stack';
import { startRotation } from '../../src/cli/start-rotation';
import { dataplaneMetrics, serveMetrics } from '../../src/dataplane/metrics';
import { freePort } from '../../src/devstack/ports';
import { fetchTrusting, sample, scrape, scrapeUntil } from './prometheus';
import { approveSteps, spawnWorkerProcess, startTestStack, uniqueName, waitForOutput, waitForStatus } from './support';

const PROXIES = 10;
jest.setTimeout(300_000);

describe('metrics for Prometheus during a rotation', () => {
  let stack: LocalStack;
  let worker: ChildProcess | undefined;

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker?.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await stack?.stop();
  });

  it('shows the step, proxies done / total, stragglers, issuance, refusals and zero trust failures moving as the rotation goes', async () => {
    stack = await startTestStack({ proxies: PROXIES, mesh: uniqueName('metrics'), inProcessWorker: false });
    const mesh = { mesh: stack.mesh };
    const metricsAddress = `127.0.0.1:${await freePort()}`;
    const workerUrl = `http://${metricsAddress}/metrics`;
    const logFile = path.join(stack.workDir, 'worker.log');
    worker = spawnWorkerProcess({ ...stack.workerEnv(), CA_ROTATE_METRICS_ADDRESS: metricsAddress }, logFile);
    await waitForOutput(logFile, /metrics for Prometheus on/);
    const traffic = await serveMetrics(dataplaneMetrics(stack.dataplanes), '127.0.0.1:0');
    const cpUrl = `${stack.controlPlane.url}/metrics`;
    const token = stack.controlPlane.token;
    const ca = stack.controlPlane.caPem;
    const cpFetch = fetchTrusting(ca);

    try {
      // The control plane's metrics need the API token (the role that may read them).
      expect((await cpFetch(cpUrl)).status).toBe(401);
      let cp = await scrape(cpUrl, token, ca);
      expect(sample(cp, 'ca_rotate_cp_proxies', { ...mesh, state: 'online' })).toBe(PROXIES);
      const issuedFromCa1 = sample(cp, 'ca_rotate_cp_certificates_issued_total', { ...mesh, backend: 'ca-1', outcome: 'issued' }) ?? 0;
      expect(issuedFromCa1).toBeGreaterThanOrEqual(PROXIES);

      // An edit that adds ca-2 and switches to it at once is refused by admission, and counted.
      const target = await prepareTarget(stack, 'provided', 'ca-2');
      const careless = { ...target, mtls: { enabledBackend: 'ca-2', backends: [{ name: 'ca-1', type: 'builtin' }, ...(target.mtls?.backends ?? [])] } };
      const refused = await cpFetch(`${stack.controlPlane.url}/meshes/${stack.mesh}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(careless),
      });
      expect(refused.status).toBe(422);
      cp = await scrape(cpUrl, token, ca);
      expect(sample(cp, 'ca_rotate_cp_admission_refusals_total', mesh)).toBe(1);

      const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-1', target, taskQueue: stack.taskQueue, options: { approval: 'manual' } });

      // Step 1 waits for approval: the worker's endpoint says so, next to the SDK's own metrics.
      let page = await scrapeUntil(
        workerUrl,
        (t) => sample(t, 'ca_rotation_step', mesh) === 1 && sample(t, 'ca_rotation_waiting_for_approval', mesh) === 1,
        'step 1 waiting for approval',
      );
      expect(sample(page, 'ca_rotation_running', mesh)).toBe(1);
      expect(sample(page, 'ca_rotation_step_info', { ...mesh, step: 'add-backend' })).toBe(1);
      expect(page).toMatch(new RegExp(`^temporal_\\w+\\{[^}]*task_queue="${stack.taskQueue}"`, 'm'));

      await approveSteps(handle, ['add-backend']);
      // Step 1 done: every proxy trusts ca-2; the worker shows step 2 waiting for approval with no stragglers left behind.
      page = await scrapeUntil(
        workerUrl,
        (t) => sample(t, 'ca_rotation_step', mesh) === 2 && sample(t, 'ca_rotation_waiting_for_approval', mesh) === 1,
        'step 2 waiting for approval',
      );
      expect(sample(page, 'ca_rotation_step_info', { ...mesh, step: 'add-backend' })).toBe(0);
      expect(sample(page, 'ca_rotation_step_info', { ...mesh, step: 'switch-enabled' })).toBe(1);

      await approveSteps(handle, ['switch-enabled']);
      await waitForStatus(handle, (s) => s.step === 'remove-old' && s.waitingForApproval, 120_000);
      // Step 2 re-issued every proxy's certificate from ca-2: the control plane counted each one and timed it.
      cp = await scrape(cpUrl, token, ca);
      expect(sample(cp, 'ca_rotate_cp_certificates_issued_total', { ...mesh, backend: 'ca-2', outcome: 'issued' })).toBeGreaterThanOrEqual(PROXIES);
      expect(sample(cp, 'ca_rotate_cp_issuance_seconds_count', { backend: 'ca-2' })).toBeGreaterThanOrEqual(PROXIES);
      expect(sample(cp, 'ca_rotate_cp_proxies', { ...mesh, state: 'online' })).toBe(PROXIES);

      // Step 3 as it waits for approval: the previous step's proxies all done, none straggling.
      page = await scrapeUntil(workerUrl, (t) => sample(t, 'ca_rotation_step', mesh) === 3, 'step 3');
      await approveSteps(handle, ['remove-old']);
      expect((await handle.result()).status).toBe('COMPLETED');
      page = await scrapeUntil(workerUrl, (t) => sample(t, 'ca_rotation_running', mesh) === 0, 'the rotation ended');
      expect(sample(page, 'ca_rotation_proxies_total', mesh)).toBe(PROXIES);
      expect(sample(page, 'ca_rotation_proxies_done', mesh)).toBe(PROXIES);
      expect(sample(page, 'ca_rotation_stragglers', mesh)).toBe(0);
      expect(sample(page, 'ca_rotation_status_poll_failures_total') ?? 0).toBe(0);

      // The traffic went on throughout, and not one request failed on trust.
      const trafficPage = await scrape(traffic.url);
      expect(sample(trafficPage, 'ca_rotate_traffic_requests_total')).toBeGreaterThan(0);
      expect(sample(trafficPage, 'ca_rotate_traffic_trust_failures_total')).toBe(0);
      expect(sample(trafficPage, 'ca_rotate_dataplane_proxies', { state: 'ready' })).toBe(PROXIES);
    } finally {
      await traffic.stop();
    }
  });
});
