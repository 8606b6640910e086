/**
 * `ca-rotate` as a user runs it: `node bin/ca-rotate.js ...` in a child process, configured through
 * the environment, against one live stack (real Temporal, control plane, proxies with traffic, worker)
 * for the whole file. Every command of the DESIGN.md contract, its output shapes and its exit codes:
 * 0 done, 2 invalid input or refused (with the reason), 1 the environment is broken.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { LocalStack } from '../../src/cli/stack';
import { freePort } from '../../src/devstack/ports';
import { caCommonName, generateCa } from '../../src/pki/ca-certificate';
import { testServers } from '../harness/env';
import { procedureDocuments } from '../fixtures/mesh/procedure';
import { startTestStack, uniqueName, waitForStatus } from './support';

const repoRoot = path.resolve(__dirname, '../..');
const BIN = path.join(repoRoot, 'bin/ca-rotate.js');
const example = (name: string) => path.join(repoRoot, 'examples', name);

/** Connection settings that must never leak into a run from the developer's shell. */
const CONNECTION_VARS = ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'CA_ROTATE_CP_URL', 'CA_ROTATE_CP_TOKEN', 'CA_ROTATE_CP_CA_FILE', 'CA_ROTATE_CP_CLIENT_CERT', 'CA_ROTATE_CP_CLIENT_KEY', 'CA_ROTATE_INSIGHT_SETTLE', 'CA_ROTATE_TASK_QUEUE', 'TEMPORAL_UI_URL', 'VAULT_ADDR', 'VAULT_TOKEN', 'TEMPORAL_TLS', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY', 'CA_ROTATE_METRICS_ADDRESS'];

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv) {
  const base = { ...process.env };
  for (const name of CONNECTION_VARS) delete base[name];
  return spawn(process.execPath, [BIN, ...args], { cwd: repoRoot, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs the CLI to its end (bounded: a hung command fails the test instead of the run). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliRun> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ca-rotate ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function describeRun(run: CliRun): string {
  return `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
}

/** Asserts the exit code, showing the output when it differs. */
function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) throw new Error(`expected exit ${code}, got ${describeRun(run)}`);
}

/** Exactly one non-empty line on stderr, which the test then inspects. */
function oneLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}:\n${text}`);
  return lines[0] ?? '';
}

/** `--json` prints one JSON document: the whole stdout parses as one. */
function json(run: CliRun): Record<string, unknown> {
  const lines = run.stdout.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 1) throw new Error(`expected one JSON line on stdout, got ${describeRun(run)}`);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-rotate-cli-'));
let fileCounter = 0;
function tempFile(text: string, suffix = '.yaml'): string {
  const file = path.join(tmp, `f${++fileCounter}${suffix}`);
  fs.writeFileSync(file, text);
  return file;
}

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const b64 = (text: string) => Buffer.from(text).toString('base64');

interface TargetFile {
  file: string;
  certPem: string;
  keyPem: string;
}

/** A Universal target: `mesh` rotates to a new provided backend, its CA as two Secret documents. */
async function writeTarget(mesh: string, backend = 'ca-2', keyAs: 'secret' | 'inline' = 'secret'): Promise<TargetFile> {
  const ca = await generateCa({ commonName: caCommonName(mesh, backend) });
  const key = keyAs === 'secret' ? { secret: `${backend}-key` } : { inlineString: ca.privateKeyPem };
  const documents: unknown[] = [
    { type: 'Mesh', name: mesh, mtls: { enabledBackend: backend, backends: [{ name: backend, type: 'provided', conf: { cert: { secret: `${backend}-cert` }, key } }] } },
    { type: 'Secret', name: `${backend}-cert`, mesh, data: b64(ca.certificatePem) },
  ];
  if (keyAs === 'secret') documents.push({ type: 'Secret', name: `${backend}-key`, mesh, data: b64(ca.privateKeyPem) });
  return { file: tempFile(documents.map((d) => YAML.stringify(d)).join('---\n')), certPem: ca.certificatePem, keyPem: ca.privateKeyPem };
}

/** The YAML documents of `plan` output, as plain data, and the step names of its `# step i of 3` comments. */
function planDocuments(stdout: string): { steps: string[]; meshes: unknown[] } {
  const documents = YAML.parseAllDocuments(stdout);
  for (const doc of documents) if (doc.errors.length > 0) throw new Error(`plan printed invalid YAML: ${doc.errors[0]?.message}\n${stdout}`);
  return {
    steps: [...stdout.matchAll(/^# step (\d) of 3: (\S+)$/gm)].map((m) => `${m[1]}:${m[2]}`),
    meshes: documents.map((d) => d.toJS() as unknown),
  };
}

/** The procedure's three step documents of one format (test/fixtures/mesh/procedure), as plain data. */
function procedureSteps(format: 'universal' | 'kubernetes'): unknown[] {
  return procedureDocuments(format).steps.map((step) => YAML.parse(step.text) as unknown);
}

describe('ca-rotate without a control plane: validate and plan from files', () => {
  it('validate: a valid target exits 0 and says so, in both formats', async () => {
    const universal = await cli(['validate', '-f', example('target-provided.yaml')]);
    expectExit(universal, 0);
    expect(universal.stdout).toContain('valid (mesh "default", universal format)');

    const kubernetes = await cli(['validate', '-f', example('target-provided-kubernetes.yaml'), '--json']);
    expectExit(kubernetes, 0);
    expect(json(kubernetes)).toEqual({ valid: true, errors: [], warnings: [] });
  });

  it('validate: an invalid target exits 2 and names the path of each error, also as --json', async () => {
    // The provided backend references a key Secret the file does not define.
    const text = fs.readFileSync(example('target-provided.yaml'), 'utf8').split(/^---$/m).slice(0, 2).join('---');
    const file = tempFile(text);

    const plain = await cli(['validate', '-f', file]);
    expectExit(plain, 2);
    expect(plain.stdout).toContain(`${file}: invalid`);
    expect(plain.stdout).toMatch(/error: mtls\.backends\[0\]\.conf\.key\.secret: .*ca-2-key/);

    const asJson = await cli(['validate', '-f', file, '--json']);
    expectExit(asJson, 2);
    const result = json(asJson);
    expect(Object.keys(result).sort()).toEqual(['errors', 'valid', 'warnings']);
    expect(result.valid).toBe(false);
    expect(Array.isArray(result.warnings)).toBe(true);
    const errors = result.errors as { path: unknown; message: unknown }[];
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(Object.keys(error).sort()).toEqual(['message', 'path']);
      expect(typeof error.path).toBe('string');
      expect(typeof error.message).toBe('string');
    }
    expect(errors.map((e) => e.path)).toContain('mtls.backends[0].conf.key.secret');
  });

  it('validate: a missing file, a directory and malformed YAML exit 2 with one clear line', async () => {
    const missing = path.join(tmp, 'does-not-exist.yaml');
    const [absent, directory, malformed] = await Promise.all([
      cli(['validate', '-f', missing]),
      cli(['validate', '-f', tmp]),
      cli(['validate', '-f', tempFile('type: Mesh\nname: [unclosed\n'), '--json']),
    ]);
    expectExit(absent, 2);
    expect(oneLine(absent.stderr)).toMatch(new RegExp(`^ca-rotate: -f ${missing}: cannot read the file .*ENOENT`));
    expectExit(directory, 2);
    expect(oneLine(directory.stderr)).toContain(`-f ${tmp}: cannot read the file`);
    expectExit(malformed, 2);
    const result = json(malformed);
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([{ path: 'documents[0]', message: expect.stringMatching(/^invalid YAML: .*line \d+/) }]);
  });

  it('validate, vault backend: Vault unreachable is transient (1, one line), refused credentials are invalid (2)', async () => {
    const vaultTarget = (address: string, tokenBase64: string) =>
      tempFile(fs.readFileSync(example('target-vault.yaml'), 'utf8').replace('http://openbao:8200', address).replace('ZGV2LXJvb3QtdG9rZW4=', tokenBase64));
    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = vaultTarget(closed, b64('dev-root-token'));
    const [plain, asJson] = await Promise.all([cli(['validate', '-f', down]), cli(['validate', '-f', down, '--json'])]);
    for (const run of [plain, asJson]) {
      expectExit(run, 1);
      expect(run.stdout).toBe('');
      const line = oneLine(run.stderr);
      expect(line).toMatch(new RegExp(`^ca-rotate: mtls\\.backends\\[0\\]\\.conf\\.fromCp\\.address: Vault is unreachable at ${closed} \\(ECONNREFUSED\\)`));
      expect(line).toContain('transient');
      expect(line).not.toContain('invalid');
    }

    const badToken = `s.${Date.now().toString(36)}not-a-token`;
    const refused = await cli(['validate', '-f', vaultTarget(testServers().vaultAddress, b64(badToken))]);
    expectExit(refused, 2);
    expect(refused.stdout).toContain(': invalid');
    expect(refused.stdout).toMatch(/error: mtls\.backends\[0\]\.conf\.fromCp\.auth\.token: Vault rejected the credentials/);
    expect(refused.stdout + refused.stderr).not.toContain(badToken);
  });

  it('validate: a missing -f is a usage error (2)', async () => {
    const run = await cli(['validate']);
    expectExit(run, 2);
    expect(run.stderr).toContain("required option '-f, --file <file>' not specified");
  });

  it('plan --current: prints exactly the three Mesh documents of the procedure (Universal)', async () => {
    const run = await cli(['plan', '-f', example('target-provided.yaml'), '--current', example('current.yaml')]);
    expectExit(run, 0);
    const planned = planDocuments(run.stdout);
    expect(planned.steps).toEqual(['1:add-backend', '2:switch-enabled', '3:remove-old']);
    expect(planned.meshes).toEqual(procedureSteps('universal'));
    // Secrets stay out of the plan.
    expect(run.stdout).not.toContain('PRIVATE KEY');
    expect(run.stdout).not.toContain('type: Secret');
  });

  it('plan --current: prints the Kubernetes documents of the procedure for a Kubernetes target', async () => {
    const run = await cli(['plan', '-f', example('target-provided-kubernetes.yaml'), '--current', example('current-kubernetes.yaml')]);
    expectExit(run, 0);
    const planned = planDocuments(run.stdout);
    expect(planned.steps).toEqual(['1:add-backend', '2:switch-enabled', '3:remove-old']);
    expect(planned.meshes).toEqual(procedureSteps('kubernetes'));
  });

  it('plan --json: the mesh, from, to and the three steps', async () => {
    const run = await cli(['plan', '-f', example('target-provided.yaml'), '--current', example('current.yaml'), '--json']);
    expectExit(run, 0);
    const result = json(run);
    expect(result).toMatchObject({ mesh: 'default', from: 'ca-1', to: 'ca-2' });
    const steps = result.steps as { name: string; mesh: unknown }[];
    expect(steps.map((s) => s.name)).toEqual(['add-backend', 'switch-enabled', 'remove-old']);
    expect(steps.map((s) => s.mesh)).toEqual(procedureSteps('universal'));
  });

  it('plan: a target that enables the current backend is refused (2) with the path', async () => {
    const run = await cli(['plan', '-f', example('current.yaml'), '--current', example('current.yaml')]);
    expectExit(run, 2);
    expect(run.stdout).toMatch(/error: mtls\.enabledBackend: .*already the enabled backend/);
  });

  it('start: bad flag values exit 2 naming the flag, before anything is read or started', async () => {
    const missing = path.join(tmp, 'never-read.yaml');
    const [approval, offline, stepTimeout] = await Promise.all([
      cli(['start', '-f', missing, '--approval', 'sometimes']),
      cli(['start', '-f', missing, '--offline-proxies', 'maybe']),
      cli(['start', '-f', missing, '--step-timeout', 'soon']),
    ]);
    expectExit(approval, 2);
    expect(oneLine(approval.stderr)).toBe('ca-rotate: --approval sometimes: must be "auto" or "manual"');
    expectExit(offline, 2);
    expect(oneLine(offline.stderr)).toMatch(/^ca-rotate: --offline-proxies maybe: use "wait" or "exclude-after=DURATION"/);
    expectExit(stepTimeout, 2);
    expect(oneLine(stepTimeout.stderr)).toMatch(/^ca-rotate: --step-timeout soon: not a duration/);
  });

  it('an invalid connection setting exits 2 naming the variable', async () => {
    const run = await cli(['status'], { TEMPORAL_ADDRESS: 'no-port-here' });
    expectExit(run, 2);
    expect(oneLine(run.stderr)).toMatch(/^ca-rotate: TEMPORAL_ADDRESS \/ --temporal-address: must be host:port/);
  });
});

describe('ca-rotate against a live stack', () => {
  let stack: LocalStack;
  let env: NodeJS.ProcessEnv;
  let target: TargetFile;
  const PROXIES = 6;

  const handle = () => stack.client.workflow.getHandle(`ca-rotation/${stack.mesh}`);
  const ca = (...args: string[]) => cli(args, env);
  const control = (name: string, ...args: string[]) => ca(name, '--mesh', stack.mesh, ...args);

  beforeAll(async () => {
    stack = await startTestStack({ proxies: PROXIES });
    // The operator's CLI holds the admin token (`start` uploads Secrets); the worker's own credential may not.
    env = { ...stack.workerEnv(), CA_ROTATE_CP_TOKEN: stack.controlPlane.token };
    target = await writeTarget(stack.mesh);
  });
  afterAll(async () => {
    // A failed test may leave the rotation running: end it so the shared Temporal server stays clean.
    await handle()
      .terminate('cli test cleanup')
      .catch(() => {});
    await stack?.stop();
  });

  it('plan without --current reads the current mesh from the control plane', async () => {
    const run = await ca('plan', '-f', target.file);
    expectExit(run, 0);
    const [add, switched, removed] = planDocuments(run.stdout).meshes as { name: string; mtls: { enabledBackend: string; backends: { name: string; type: string }[] } }[];
    expect(add?.name).toBe(stack.mesh);
    expect(add?.mtls.enabledBackend).toBe('ca-1');
    expect(add?.mtls.backends.map((b) => `${b.name}:${b.type}`)).toEqual(['ca-1:builtin', 'ca-2:provided']);
    expect(switched?.mtls.enabledBackend).toBe('ca-2');
    expect(switched?.mtls.backends.map((b) => b.name)).toEqual(['ca-1', 'ca-2']);
    expect(removed?.mtls.backends.map((b) => b.name)).toEqual(['ca-2']);
  });

  it('token writes a credential (0600, never printed) and prints its id; revoke-token takes that id, and the credential is refused from then on', async () => {
    const out = path.join(tmp, `reader-${uniqueName('t')}.token`);
    const issued = await ca('token', '--role', 'reader', '--name', 'cli-reader', '--out', out);
    expectExit(issued, 0);
    const id = /token id ([0-9a-f-]{36})$/m.exec(issued.stdout)?.[1] ?? '';
    const token = fs.readFileSync(out, 'utf8').trim();
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(issued.stdout + issued.stderr).not.toContain(token);
    const planAsReader = () => cli(['plan', '-f', target.file], { ...env, CA_ROTATE_CP_TOKEN: token });
    expectExit(await planAsReader(), 0);

    const malformed = await ca('revoke-token', 'not-an-id');
    expectExit(malformed, 2);
    expect(oneLine(malformed.stderr)).toMatch(/^ca-rotate: "not-an-id" is not a token id/);
    const revoked = await ca('revoke-token', id);
    expectExit(revoked, 0);
    expect(revoked.stdout).toBe(`token ${id} revoked\n`);
    const refused = await planAsReader();
    expect(refused.code).not.toBe(0);
    console.log(`plan with a revoked token: exit ${refused.code}, ${refused.stderr.trim()}`);
    expect(oneLine(refused.stderr)).toMatch(/401|rejected|token/i);
  });

  it('plan and status for a mesh that does not exist: one clear line, exit 2', async () => {
    const ghost = uniqueName('ghost');
    const [plan, status] = await Promise.all([ca('plan', '-f', (await writeTarget(ghost)).file), ca('status', '--mesh', ghost)]);
    expectExit(plan, 2);
    expect(oneLine(plan.stderr)).toBe(`ca-rotate: mesh "${ghost}" does not exist on the control plane at ${stack.controlPlane.url}`);
    expectExit(status, 2);
    expect(oneLine(status.stderr)).toBe(`ca-rotate: no rotation of mesh "${ghost}" found (workflow ca-rotation/${ghost})`);
  });

  it('start: a target with an inline private key is refused (2) naming the path, without echoing the key', async () => {
    const inline = await writeTarget(stack.mesh, 'ca-2', 'inline');
    const run = await ca('start', '-f', inline.file);
    expectExit(run, 2);
    expect(run.stdout).toContain('invalid, nothing started');
    expect(run.stdout).toMatch(/error: mtls\.backends\[0\]\.conf\.key\.inlineString: secret material must not be inline/);
    const keyBody = inline.keyPem.split('\n')[1] ?? '';
    expect(keyBody.length).toBeGreaterThan(20);
    expect(run.stdout + run.stderr).not.toContain(keyBody);
    // Nothing reached the control plane or Temporal.
    expect(await stack.cp.getSecret(stack.mesh, 'ca-2-cert')).toBeUndefined();
    await expect(handle().describe()).rejects.toThrow();
  });

  it('unreachable Temporal or control plane: exit 1 with one line naming the address', async () => {
    const [temporalDown, cpDown] = await Promise.all([
      cli(['status', '--mesh', stack.mesh], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' }),
      cli(['start', '-f', target.file], { ...env, CA_ROTATE_CP_URL: 'https://127.0.0.1:1' }),
    ]);
    expectExit(temporalDown, 1);
    expect(oneLine(temporalDown.stderr)).toMatch(/^ca-rotate: cannot reach Temporal at 127\.0\.0\.1:1 \(TEMPORAL_ADDRESS\)/);
    expectExit(cpDown, 1);
    expect(oneLine(cpDown.stderr)).toMatch(/^ca-rotate: cannot reach the control plane at https:\/\/127\.0\.0\.1:1 \(CA_ROTATE_CP_URL\)/);

    // start with Temporal down fails before it uploads the target's Secrets.
    const startDown = await cli(['start', '-f', target.file], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expectExit(startDown, 1);
    expect(oneLine(startDown.stderr)).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(await stack.cp.getSecret(stack.mesh, 'ca-2-cert')).toBeUndefined();
  });

  it('start, status, approve, abort, pause, resume, approve to the end, status --watch', async () => {
    // start --approval manual --json
    const started = await ca('start', '-f', target.file, '--approval', 'manual', '--json');
    expectExit(started, 0);
    const startJson = json(started);
    expect(startJson).toEqual({ started: true, workflowId: `ca-rotation/${stack.mesh}`, runId: expect.any(String), mesh: stack.mesh, from: 'ca-1', to: 'ca-2' });
    expect((await stack.cp.getSecret(stack.mesh, 'ca-2-cert'))?.data).toBe(b64(target.certPem));

    // A second start (another CA) is refused and leaves the running rotation's Secrets alone.
    const other = await writeTarget(stack.mesh);
    const again = await ca('start', '-f', other.file, '--approval', 'manual');
    expectExit(again, 2);
    expect(oneLine(again.stderr)).toBe(`ca-rotate: a rotation of mesh "${stack.mesh}" is already running (workflow ca-rotation/${stack.mesh}): see \`ca-rotate status --mesh ${stack.mesh}\``);
    expect((await stack.cp.getSecret(stack.mesh, 'ca-2-cert'))?.data).toBe(b64(target.certPem));

    // status --json: the DESIGN.md shape, at step 1 waiting for approval.
    await waitForStatus(handle(), (s) => s.step === 'add-backend' && s.waitingForApproval, 30_000);
    const status = await control('status', '--json');
    expectExit(status, 0);
    const statusJson = json(status);
    expect(Object.keys(statusJson)).toEqual(expect.arrayContaining(['workflowId', 'status', 'step', 'steps', 'from', 'to']));
    expect(statusJson).toMatchObject({ workflowId: `ca-rotation/${stack.mesh}`, status: 'RUNNING', step: 'add-backend', from: 'ca-1', to: 'ca-2' });
    const steps = statusJson.steps as Record<string, unknown>[];
    expect(steps.map((s) => s.name)).toEqual(['add-backend', 'switch-enabled', 'remove-old']);
    for (const step of steps) {
      expect(Object.keys(step).sort()).toEqual(['name', 'pending', 'proxies', 'state']);
      expect(step.proxies).toEqual({ total: expect.any(Number), done: expect.any(Number) });
      expect(Array.isArray(step.pending)).toBe(true);
    }
    expect(steps.map((s) => s.state)).toEqual(['waiting-approval', 'pending', 'pending']);

    // The human-readable status says what to do.
    const human = await control('status');
    expectExit(human, 0);
    expect(human.stdout).toContain(`ca-rotation/${stack.mesh}: RUNNING (rotating) ca-1 -> ca-2, step add-backend · waiting for approval (ca-rotate approve)`);

    // approve step 1; once every proxy trusts ca-2, step 2 waits.
    const approve1 = await control('approve');
    expectExit(approve1, 0);
    expect(approve1.stdout).toBe('approve: approved step add-backend\n');
    const atSwitch = await waitForStatus(handle(), (s) => s.step === 'switch-enabled' && s.waitingForApproval, 60_000);
    expect(atSwitch.steps[0]?.proxies).toEqual({ total: PROXIES, done: PROXIES });

    // approve step 2 (--json), then wait until enabledBackend is switched.
    const approve2 = await control('approve', '--json');
    expectExit(approve2, 0);
    expect(json(approve2)).toEqual({ ok: true, control: 'approve', message: 'approved step switch-enabled' });
    await waitForStatus(handle(), (s) => s.steps[1]?.meshVersion !== undefined, 60_000);

    // abort after the switch is refused with the reason.
    const abort = await control('abort');
    expectExit(abort, 2);
    expect(oneLine(abort.stderr)).toBe('ca-rotate: abort refused: enabledBackend has already been switched to "ca-2": use rollback to switch back');

    // pause / pause again / resume
    await waitForStatus(handle(), (s) => s.step === 'remove-old' && s.waitingForApproval, 60_000);
    const pause = await control('pause', '--reason', 'change freeze');
    expectExit(pause, 0);
    const paused = json(await control('status', '--json'));
    expect(paused).toMatchObject({ paused: true, pauseReason: 'change freeze' });
    const pauseAgain = await control('pause');
    expectExit(pauseAgain, 2);
    expect(oneLine(pauseAgain.stderr)).toBe('ca-rotate: pause refused: already paused (change freeze)');
    const resume = await control('resume');
    expectExit(resume, 0);
    expect(resume.stdout).toBe('resume: resumed\n');
    expect(json(await control('status', '--json'))).toMatchObject({ paused: false, step: 'remove-old' });

    // status --watch --json follows to the end while step 3 is approved.
    const watch = spawnCli(['status', '--mesh', stack.mesh, '--watch', '--json'], env);
    let watchOut = '';
    let watchErr = '';
    watch.stdout.on('data', (chunk: Buffer) => (watchOut += chunk.toString()));
    watch.stderr.on('data', (chunk: Buffer) => (watchErr += chunk.toString()));
    const watchEnded = new Promise<number | null>((resolve) => watch.on('close', resolve));
    const watchTimeout = setTimeout(() => watch.kill('SIGKILL'), 90_000);
    try {
      const deadline = Date.now() + 30_000;
      while (!watchOut.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(JSON.parse(watchOut.split('\n')[0] ?? '')).toMatchObject({ status: 'RUNNING', step: 'remove-old' });

      const approve3 = await control('approve');
      expectExit(approve3, 0);
      expect(approve3.stdout).toBe('approve: approved step remove-old\n');
      const code = await watchEnded;
      if (code !== 0) throw new Error(`status --watch exited ${code}: ${watchErr}`);
    } finally {
      clearTimeout(watchTimeout);
    }
    const documents = watchOut
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { status: string; step: string; steps: { name: string; state: string; proxies: { total: number; done: number } }[] });
    expect(documents.length).toBeGreaterThan(1);
    const last = documents[documents.length - 1];
    expect(last?.status).toBe('COMPLETED');
    expect(last?.step).toBe('done');
    expect(last?.steps.map((s) => [s.name, s.state, s.proxies.done, s.proxies.total])).toEqual([
      ['add-backend', 'done', PROXIES, PROXIES],
      ['switch-enabled', 'done', PROXIES, PROXIES],
      ['remove-old', 'done', PROXIES, PROXIES],
    ]);
    // The mesh ends on the new CA, with the certificate of the file that started the rotation.
    const mesh = await stack.cp.getMesh(stack.mesh);
    expect(mesh?.mesh.mtls?.enabledBackend).toBe('ca-2');
    expect(mesh?.mesh.mtls?.backends?.map((b) => b.name)).toEqual(['ca-2']);
    expect(stack.dataplanes.stats().failed).toBe(0);

    // Controls on a finished rotation are refused with the reason; status still answers.
    const late = await control('approve');
    expectExit(late, 2);
    expect(oneLine(late.stderr)).toMatch(/^ca-rotate: approve refused: .*(finished|completed)/i);
    const done = await control('status', '--json');
    expectExit(done, 0);
    expect(json(done)).toMatchObject({ status: 'COMPLETED', step: 'done' });
  });
});
