/**
 * A real Kubernetes API server on loopback, without Docker: etcd (Debian's etcd-server) plus
 * kube-apiserver (built by scripts/provide-binaries.sh), with token authentication, RBAC and a
 * kubeconfig per user. Either process can be killed with SIGKILL and started again on the same ports
 * and data, as the crash tests need.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort, waitUntil } from './ports';
import { type ManagedProcess, spawnServer } from './process';

const run = promisify(execFile);
const SCRIPT = path.resolve(__dirname, '../../scripts/provide-binaries.sh');

export interface KubernetesUser {
  name: string;
  groups?: string[];
}

export interface KubernetesDevCluster {
  /** https://127.0.0.1:PORT */
  readonly server: string;
  readonly workDir: string;
  /** A kubeconfig for a user in `system:masters`. */
  readonly adminKubeconfig: string;
  /** A kubeconfig (its own file) for one of the users named at start. */
  kubeconfigFor(user: string): string;
  readonly etcd: ManagedProcess;
  readonly apiServer: ManagedProcess;
  startEtcd(): Promise<void>;
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

export interface KubernetesBinaries {
  kubeApiServer?: string;
  etcd?: string;
}

/** Finds kube-apiserver (KUBE_APISERVER_PATH, PATH, cache; never builds: `npm run provide-binaries -- kube-apiserver` does) and etcd. */
export function findKubernetesBinaries(): KubernetesBinaries & { missing?: string } {
  const cached = path.join(process.env.MESH_CA_ROTATOR_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'mesh-ca-rotator'), 'bin', 'kube-apiserver');
  const onPath = (name: string): string | undefined =>
    (process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, name)).find((file) => isExecutable(file));
  const kubeApiServer = [process.env.KUBE_APISERVER_PATH, onPath('kube-apiserver'), cached].find((file): file is string => !!file && isExecutable(file));
  const etcd = [process.env.ETCD_PATH, onPath('etcd')].find((file): file is string => !!file && isExecutable(file));
  const missing = [
    kubeApiServer ? undefined : `kube-apiserver not found (set KUBE_APISERVER_PATH or run: bash ${path.relative(process.cwd(), SCRIPT)} kube-apiserver)`,
    etcd ? undefined : 'etcd not found (apt-get install etcd-server, or set ETCD_PATH)',
  ].filter((line): line is string => line !== undefined);
  return { kubeApiServer, etcd, ...(missing.length > 0 ? { missing: missing.join('; ') } : {}) };
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Builds kube-apiserver when it is missing (minutes, once) via the provide script. */
export async function provideKubeApiServer(): Promise<string | undefined> {
  const child = run('bash', [SCRIPT, 'kube-apiserver'], { maxBuffer: 16 * 1024 * 1024, timeout: 60 * 60 * 1000 });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  return /^kube-apiserver=(.+)$/m.exec(stdout)?.[1]?.trim() || undefined;
}

export async function startKubernetesDevCluster(options: {
  kubeApiServer: string;
  etcd: string;
  users?: KubernetesUser[];
  workDir?: string;
  startTimeoutMs?: number;
}): Promise<KubernetesDevCluster> {
  const workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kube-dev-'));
  fs.mkdirSync(path.join(workDir, 'certs'), { recursive: true });
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const server = `https://127.0.0.1:${apiPort}`;

  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saPub = path.join(workDir, 'sa.pub');
  const saKey = path.join(workDir, 'sa.key');
  fs.writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  fs.writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

  const users: KubernetesUser[] = [{ name: 'admin', groups: ['system:masters'] }, ...(options.users ?? [])];
  const tokens = new Map(users.map((user) => [user.name, randomBytes(24).toString('hex')]));
  const tokenFile = path.join(workDir, 'tokens.csv');
  fs.writeFileSync(
    tokenFile,
    users.map((user, i) => `${tokens.get(user.name)},${user.name},uid-${i}${user.groups?.length ? `,"${user.groups.join(',')}"` : ''}`).join('\n') + '\n',
    { mode: 0o600 },
  );

  const etcdArgs = [
    '--name', 'dev',
    '--data-dir', path.join(workDir, 'etcd'),
    '--listen-client-urls', `http://127.0.0.1:${etcdPort}`,
    '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `dev=http://127.0.0.1:${peerPort}`,
  ];
  const apiArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    // A loopback address cannot back the `kubernetes` Service's endpoints; nothing here needs them.
    '--endpoint-reconciler-type=none',
    `--secure-port=${apiPort}`,
    `--cert-dir=${path.dirname(servingCertificateFile(workDir))}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${saPub}`,
    `--service-account-signing-key-file=${saKey}`,
    `--token-auth-file=${tokenFile}`,
    '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.96.0.0/16',
    // etcd 3.4 cannot serve the streaming list a watch without resourceVersion asks for.
    '--feature-gates=WatchList=false',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
  ];

  let etcd = spawnServer(options.etcd, etcdArgs, path.join(workDir, 'etcd.log'));
  let apiServer: ManagedProcess | undefined;

  const adminKubeconfig = writeKubeconfig(workDir, 'admin', server, tokens.get('admin') as string);
  const cluster: KubernetesDevCluster = {
    server,
    workDir,
    adminKubeconfig,
    kubeconfigFor(user: string): string {
      const token = tokens.get(user);
      if (!token) throw new Error(`user ${user} was not declared when the cluster started`);
      return writeKubeconfig(workDir, user, server, token);
    },
    get etcd() {
      return etcd;
    },
    get apiServer() {
      return apiServer as ManagedProcess;
    },
    async startEtcd() {
      etcd = spawnServer(options.etcd, etcdArgs, path.join(workDir, 'etcd.log'));
      await waitForEtcd();
    },
    async startApiServer() {
      apiServer = spawnServer(options.kubeApiServer, apiArgs, path.join(workDir, 'kube-apiserver.log'));
      await waitForApiServer();
    },
    async stop() {
      await apiServer?.stop();
      await etcd.stop();
    },
  };

  async function waitForEtcd(): Promise<void> {
    await waitForServer(`etcd (log: ${path.join(workDir, 'etcd.log')})`, etcd, async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok, timeoutMs);
  }

  async function waitForApiServer(): Promise<void> {
    const admin = tokens.get('admin') as string;
    const log = path.join(workDir, 'kube-apiserver.log');
    await waitForServer(`kube-apiserver (log: ${log})`, apiServer as ManagedProcess, async () => (await loopbackGet(`${server}/readyz`, admin)) === 200, timeoutMs);
  }

  try {
    await waitForEtcd();
    await cluster.startApiServer();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** Waits for `probe`, failing at once (with the log's last error line) if the process exits. */
async function waitForServer(what: string, server: ManagedProcess, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  let exited = false;
  await waitUntil(
    what,
    async () => {
      if (server.child.exitCode !== null || server.child.signalCode !== null) {
        exited = true;
        return true;
      }
      return probe();
    },
    timeoutMs,
    250,
  );
  if (exited) throw new Error(`${what} exited with code ${server.child.exitCode ?? server.child.signalCode}`);
}

/** GET over TLS to our own loopback API server, whose certificate is self-signed at start. */
async function loopbackGet(url: string, token: string): Promise<number> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'GET', headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Where kube-apiserver writes its self-generated serving certificate and CA (`--cert-dir`). */
function servingCertificateFile(workDir: string): string {
  return path.join(workDir, 'certs', 'apiserver.crt');
}

function writeKubeconfig(workDir: string, user: string, server: string, token: string): string {
  const file = path.join(workDir, `kubeconfig-${user}`);
  // The API server generates its serving certificate in --cert-dir at its first start, together with
  // the CA that signed it (same file), and keeps it across restarts: clients verify it.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'dev', cluster: { server, 'certificate-authority': servingCertificateFile(workDir) } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'dev', user } }],
    'current-context': user,
  };
  fs.writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}
