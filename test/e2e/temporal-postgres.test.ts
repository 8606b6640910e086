/**
 * The production topology: the Temporal server itself (not the dev server) on PostgreSQL, its schema
 * set up by Temporal's schema tool, two rotation workers as separate processes, and a `kill -9` of the
 * server mid-rotation, then a restart on the same databases. The rotation must complete with no failed
 * request and exactly three new mesh versions. Then the settings of a cluster or Temporal Cloud: the
 * worker, the CLI and the control plane reach a frontend that requires client certificates (mTLS),
 * configured by Temporal's own variables. Needs `temporal-server` and `temporal-sql-tool`
 * (`bash scripts/provide-binaries.sh temporal-server`) and a PostgreSQL with trust auth.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareTarget, type LocalStack } from '../../src/cli/stack';
import { startRotation } from '../../src/cli/start-rotation';
import {
  createTemporalDatabases,
  postgresFromEnv,
  prepareNamespace,
  startTemporalServer,
  temporalServerBinaries,
  temporalServerMissing,
  writeTemporalServerConfig,
  type TemporalDatabases,
  type TemporalServer,
} from '../../src/devstack/temporal-server';
import { freePort } from '../../src/devstack/ports';
import { describeWhenAvailable } from '../harness/requirements';
import { createTestCa, issueTlsIdentity } from '../unit/dataplane/test-pki';
import { sample, scrapeUntil } from './prometheus';
import { approveSteps, spawnWorkerProcess, startTestStack, uniqueName, waitForOutput, waitForStatus } from './support';

const PROXIES = 12;
jest.setTimeout(900_000);

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** What a test here starts; `stop` ends it all in reverse order and drops the databases. */
class Started {
  databases?: TemporalDatabases;
  server?: TemporalServer;
  stack?: LocalStack;
  readonly workers: ChildProcess[] = [];

  async stop(): Promise<void> {
    await Promise.all(this.workers.map(stopWorker));
    await this.stack?.stop();
    await this.server?.stop();
    await this.databases?.drop();
  }
}

/** `ca-rotate ARGS` as a user runs it, with `env` added to ours. */
function caRotate(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.resolve(__dirname, '../../bin/ca-rotate.js'), ...args], { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describeWhenAvailable('a rotation on the Temporal server with PostgreSQL (production topology)', temporalServerMissing(), () => {
  describe('two workers, kill -9 of the server', () => {
    const started = new Started();
    afterAll(() => started.stop());

    it('completes with two workers after the server is killed with SIGKILL mid-rotation: 0 failed requests, exactly 3 mesh versions', async () => {
      const binaries = temporalServerBinaries();
      const pg = postgresFromEnv();
      const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

      let since = Date.now();
      const databases = (started.databases = await createTemporalDatabases(binaries.sqlTool, pg));
      console.log(`databases ${databases.main} and ${databases.visibility} created with their schemas in ${elapsed(since)}`);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-server-'));
      const config = await writeTemporalServerConfig(dir, pg, databases);
      since = Date.now();
      const server = (started.server = await startTemporalServer({ binary: binaries.server, config }));
      await prepareNamespace(server.address, server.namespace);
      console.log(`Temporal server on ${server.address} serving namespace ${server.namespace} in ${elapsed(since)}`);

      const stack = (started.stack = await startTestStack({ proxies: PROXIES, mesh: uniqueName('pg'), temporal: { address: server.address, namespace: server.namespace }, inProcessWorker: false }));
      // One worker exports metrics: its rotation figures come from a visibility query, here on PostgreSQL.
      const metricsUrl = `http://127.0.0.1:${await freePort()}/metrics`;
      for (const name of ['worker-a', 'worker-b']) {
        const logFile = path.join(stack.workDir, `${name}.log`);
        const metricsEnv = name === 'worker-a' ? { CA_ROTATE_METRICS_ADDRESS: new URL(metricsUrl).host } : {};
        started.workers.push(spawnWorkerProcess({ ...stack.workerEnv(), ...metricsEnv }, logFile));
        await waitForOutput(logFile, /worker polling/, 120_000);
      }
      const versionsBefore = (await stack.cp.meshHistory(stack.mesh)).length;
      const target = await prepareTarget(stack, 'provided', 'ca-2');
      since = Date.now();
      // One certificate per re-issue call: step 2 lasts long enough to kill the server in it.
      const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-1', target, taskQueue: stack.taskQueue, options: { approval: 'manual', reissueBatchSize: 1 } });
      await approveSteps(handle, ['add-backend', 'switch-enabled'], 180_000);
      await waitForStatus(handle, (s) => s.step === 'switch-enabled' && ['applying', 'reissuing', 'waiting'].includes(s.steps[1]?.state ?? ''), 60_000);

      await server.process.kill9();
      console.log(`Temporal server killed with SIGKILL during step 2 (${elapsed(since)} into the rotation)`);
      const downSince = Date.now();
      await new Promise((r) => setTimeout(r, 2000));
      await server.restart();
      console.log(`Temporal server restarted on the same databases in ${elapsed(downSince)}`);

      await approveSteps(handle, ['remove-old'], 300_000);
      const result = await handle.result();
      console.log(`rotation ${result.status} in ${elapsed(since)}; traffic ${JSON.stringify(stack.dataplanes.stats())}`);
      expect(result.status).toBe('COMPLETED');
      expect((await stack.cp.meshHistory(stack.mesh)).length - versionsBefore).toBe(3);
      const traffic = stack.dataplanes.stats();
      expect(traffic.requests).toBeGreaterThan(0);
      expect(traffic.failed).toBe(0);
      expect(traffic.failuresByReason).toEqual({});
      const mesh = { mesh: stack.mesh };
      const page = await scrapeUntil(metricsUrl, (t) => sample(t, 'ca_rotation_running', mesh) === 0, 'the rotation ended');
      expect(sample(page, 'ca_rotation_proxies_done', mesh)).toBe(PROXIES);
      expect(sample(page, 'ca_rotation_stragglers', mesh)).toBe(0);
      // Both workers were still serving the task queue at the end (neither gave up while the server was down).
      expect(started.workers.every((w) => w.exitCode === null)).toBe(true);
    });
  });

  describe('mTLS to the frontend, configured as for a cluster or Temporal Cloud', () => {
    const started = new Started();
    afterAll(() => started.stop());

    it('worker, CLI and control plane rotate over mTLS; without a client certificate the CLI says it cannot reach Temporal', async () => {
      const binaries = temporalServerBinaries();
      const pg = postgresFromEnv();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-mtls-'));
      const file = (name: string, content: string) => {
        fs.writeFileSync(path.join(dir, name), content, { mode: 0o600 });
        return path.join(dir, name);
      };
      const serverName = 'frontend.temporal.test';
      const ca = await createTestCa('temporal test CA');
      const serverIdentity = await issueTlsIdentity(ca, { dns: [serverName] });
      const clientIdentity = await issueTlsIdentity(ca, { dns: ['ca-rotate.client.test'] });
      const files = {
        ca: file('ca.pem', ca.pem),
        serverCert: file('server.pem', serverIdentity.certificatePem),
        serverKey: file('server.key', serverIdentity.privateKeyPem),
        clientCert: file('client.pem', clientIdentity.certificatePem),
        clientKey: file('client.key', clientIdentity.privateKeyPem),
      };

      const databases = (started.databases = await createTemporalDatabases(binaries.sqlTool, pg));
      const config = await writeTemporalServerConfig(dir, pg, databases, {
        caFile: files.ca,
        serverCertFile: files.serverCert,
        serverKeyFile: files.serverKey,
        requireClientAuth: true,
        serverName,
        systemWorkerCertFile: files.clientCert,
        systemWorkerKeyFile: files.clientKey,
      });
      const clientTls = { serverRootCACertificate: Buffer.from(ca.pem), serverNameOverride: serverName, clientCertPair: { crt: Buffer.from(clientIdentity.certificatePem), key: Buffer.from(clientIdentity.privateKeyPem) } };
      const server = (started.server = await startTemporalServer({ binary: binaries.server, config, clientTls }));
      await prepareNamespace(server.address, server.namespace, clientTls);

      // The address is an IP; the certificate names `frontend.temporal.test`: the server name setting makes it match.
      const serverOnly = { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: server.namespace, TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.ca, TEMPORAL_TLS_SERVER_NAME: serverName };
      const mtls = { ...serverOnly, TEMPORAL_TLS_CLIENT_CERT_PATH: files.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: files.clientKey };
      const refused = await caRotate(['status', '--mesh', 'none'], serverOnly);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^ca-rotate: cannot reach Temporal at 127\.0\.0\.1:\d+ \(TEMPORAL_ADDRESS\)/);
      const reached = await caRotate(['status', '--mesh', 'none'], mtls);
      expect(reached.stderr).toMatch(/no rotation of mesh "none" found/);
      expect(reached.code).toBe(2);

      const stack = (started.stack = await startTestStack({ proxies: 6, mesh: uniqueName('mtls'), temporal: { address: server.address, namespace: server.namespace, tls: clientTls }, inProcessWorker: false }));
      const logFile = path.join(stack.workDir, 'worker.log');
      started.workers.push(spawnWorkerProcess({ ...stack.workerEnv(), ...mtls }, logFile));
      await waitForOutput(logFile, /worker polling/, 120_000);
      const versionsBefore = (await stack.cp.meshHistory(stack.mesh)).length;
      const target = await prepareTarget(stack, 'builtin', 'ca-2');
      const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-1', target, taskQueue: stack.taskQueue });
      expect((await handle.result()).status).toBe('COMPLETED');
      expect((await stack.cp.meshHistory(stack.mesh)).length - versionsBefore).toBe(3);
      expect(stack.dataplanes.stats().failuresByReason).toEqual({});
      const status = await caRotate(['status', '--mesh', stack.mesh, '--json'], { ...mtls, CA_ROTATE_TASK_QUEUE: stack.taskQueue });
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ status: 'COMPLETED' });
    });
  });
});
