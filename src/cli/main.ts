/**
 * `ca-rotate`: the command line. Each command lives in its own module; this file parses flags
 * (commander), loads settings, and maps failures to the exit codes of the contract:
 * 0 done, 2 invalid input or refused (one clear line), 1 unexpected.
 * Command modules load on demand, so `validate` or `status` do not pay at startup for the worker,
 * the control plane and the proxies.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CONTROL_UPDATES, type ControlName } from '../workflows/messages';
import { CaError } from '../ca/errors';
import { caFailureForCli, CliError, EXIT_REFUSED, EXIT_UNEXPECTED } from './errors';
import { errorMessage } from '../mesh/errors';
import { loadSettings, SettingsError, temporalConnectionOptions, type ConnectionFlags } from './settings';

/**
 * Loads a command's module when that command runs. A CommonJS require, not `import()`: without a
 * build, the entry point (bin/ca-rotate.js) registers tsx for require only.
 */
function load<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}

function positiveInteger(flag: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value <= 0) throw new InvalidArgumentError(`${flag} must be a positive whole number, got "${text}"`);
    return value;
  };
}

function hostPort(flag: string) {
  return (text: string): string => {
    if (!/^[^\s:]+:\d+$/.test(text)) throw new InvalidArgumentError(`${flag} must be host:port, e.g. 127.0.0.1:9465, got "${text}"`);
    return text;
  };
}

function port(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new InvalidArgumentError(`--port must be 0..65535, got "${text}"`);
  return value;
}

export function buildProgram(run: (action: () => Promise<number>) => Promise<void>): Command {
  const program = new Command('ca-rotate')
    .description('Rotate the CA of a Kong Mesh / Kuma mesh without dropping a request')
    .addOption(new Option('--temporal-address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS, default localhost:7233)'))
    .addOption(new Option('--namespace <name>', 'Temporal namespace (env TEMPORAL_NAMESPACE, default "default")'))
    .addOption(new Option('--cp-url <url>', 'control plane API (env CA_ROTATE_CP_URL, default http://127.0.0.1:5681)'))
    .addOption(new Option('--temporal-ui <url>', 'Temporal Web UI, for links (env TEMPORAL_UI_URL)'))
    .addOption(new Option('--tls', 'TLS to the Temporal frontend (env TEMPORAL_TLS; on by itself with any TLS option or an API key)'))
    .addOption(new Option('--no-tls', 'plaintext to the Temporal frontend even with an API key'))
    .addOption(new Option('--tls-ca-path <file>', "CA certificate (PEM) of the Temporal frontend's certificate (env TEMPORAL_TLS_SERVER_CA_CERT_PATH)"))
    .addOption(new Option('--tls-cert-path <file>', 'client certificate (PEM) for mTLS to Temporal (env TEMPORAL_TLS_CLIENT_CERT_PATH)'))
    .addOption(new Option('--tls-key-path <file>', 'client private key (PEM) for mTLS to Temporal (env TEMPORAL_TLS_CLIENT_KEY_PATH)'))
    .addOption(new Option('--tls-server-name <name>', "name to verify in the frontend's certificate (env TEMPORAL_TLS_SERVER_NAME)"))
    .addOption(new Option('--api-key <key>', 'Temporal Cloud API key (prefer env TEMPORAL_API_KEY: flags show in the process list)'))
    .addOption(new Option('--kubernetes', 'Kubernetes mode: the Mesh and its Secrets live in the cluster (kubeconfig, or in-cluster config)'))
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig for Kubernetes mode (default KUBECONFIG, ~/.kube/config, in-cluster); implies --kubernetes'))
    .addOption(new Option('--context <name>', 'kubeconfig context; implies --kubernetes'))
    .addOption(new Option('--kube-namespace <name>', "the control plane's namespace, where its Secrets are (env CA_ROTATE_KUBE_NAMESPACE, default kuma-system)"))
    .exitOverride()
    .showHelpAfterError(false);

  const settings = () => loadSettings(program.opts<ConnectionFlags>());

  program
    .command('validate')
    .description('check a Mesh and its Secrets: everything Kuma rejects, and what it misses')
    .requiredOption('-f, --file <file>', 'multi-document YAML: one Mesh and the Secrets it references')
    .option('--json', 'print one JSON document')
    .action((o: { file: string; json?: boolean }) => run(() => load<typeof import('./commands/validate')>('./commands/validate').validateCommand(o, settings())));

  program
    .command('plan')
    .description('print the three Mesh versions the rotation will apply')
    .requiredOption('-f, --file <file>', 'the target Mesh (its enabledBackend is the new backend)')
    .option('--current <file>', 'the current Mesh (default: read from the control plane)')
    .option('--json', 'print one JSON document')
    .action((o: { file: string; current?: string; json?: boolean }) => run(() => load<typeof import('./commands/plan')>('./commands/plan').planCommand(o, settings())));

  program
    .command('start')
    .description('start the rotation to the target Mesh')
    .requiredOption('-f, --file <file>', 'the target Mesh and the Secrets it references')
    .option('--approval <mode>', 'auto, or manual: each step waits for `ca-rotate approve`', 'auto')
    .option('--step-timeout <duration>', 'a step still waiting after this long pauses the rotation (default 10m)')
    .option('--offline-proxies <policy>', 'wait (default), or exclude-after=DURATION')
    .option('--json', 'print one JSON document')
    .action((o: { file: string; approval?: string; stepTimeout?: string; offlineProxies?: string; json?: boolean }) => run(() => load<typeof import('./commands/start')>('./commands/start').startCommand(o, settings())));

  program
    .command('status')
    .description("the rotation's progress")
    .option('--mesh <name>', 'mesh name', 'default')
    .option('--watch', 'follow until the rotation finishes')
    .option('--json', 'print JSON (with --watch: one document a change)')
    .action((o: { mesh: string; watch?: boolean; json?: boolean }) => run(() => load<typeof import('./commands/status')>('./commands/status').statusCommand(o, settings())));

  const controlHelp: Record<ControlName, string> = {
    pause: 'finish the current wait, then take no new step until resume',
    resume: 'go on after a pause (or a step timeout)',
    approve: 'let the waiting step go ahead (--approval manual)',
    abort: 'before the switch: remove the new backend again',
    rollback: 'until step 3 starts: switch back, re-issue from the old CA, remove the new backend',
  };
  for (const control of Object.keys(CONTROL_UPDATES) as ControlName[]) {
    const command = program
      .command(control)
      .description(controlHelp[control])
      .option('--mesh <name>', 'mesh name', 'default')
      .option('--json', 'print one JSON document');
    if (control === 'pause') command.option('--reason <text>', 'why (shown in status and the Temporal UI)');
    command.action((o: { mesh: string; reason?: string; json?: boolean }) => run(() => load<typeof import('./commands/control')>('./commands/control').controlCommand(control, o, settings())));
  }

  program
    .command('worker')
    .description('run the rotation worker (Temporal task queue "ca-rotation")')
    .option('--metrics-address <host:port>', "serve the Temporal SDK's and the rotation's metrics for Prometheus (env CA_ROTATE_METRICS_ADDRESS)")
    .action((o: { metricsAddress?: string }) =>
      run(() => load<typeof import('./commands/worker')>('./commands/worker').workerCommand(loadSettings({ ...program.opts<ConnectionFlags>(), ...o }))),
    );

  program
    .command('control-plane')
    .description('run the embedded control plane (Kuma-compatible API)')
    .option('--db <file>', 'SQLite store (Kubernetes mode: where the token, signing key and TLS files go; Meshes and Secrets stay in memory)', 'ca-rotate-cp.db')
    .option('--port <port>', 'API port (Kuma: 5681)', port, 5681)
    .option('--host <address>', 'listen address', '127.0.0.1')
    .option('--show-token', 'print the API token if this start generated it')
    .option('--public-metrics', 'serve GET /metrics without the API token (a scraper on a trusted network)')
    .option('--dataplane-namespace <name>', 'Kubernetes mode: namespace of the Dataplane and DataplaneInsight resources', 'kuma-demo')
    .option('--webhook-port <port>', 'Kubernetes mode: admission webhook port (0: any free port)', port, 0)
    .option('--webhook-url <url>', 'Kubernetes mode: the URL the API server calls (default https://HOST:PORT/validate/meshes)')
    .option('--api-tls-name <name>', 'a host name or address clients use, for the generated API certificate (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--api-tls-cert <file>', 'serve this PEM certificate (chain) on the API instead of a generated one')
    .option('--api-tls-key <file>', 'the private key of --api-tls-cert')
    .option('--api-tls-ca <file>', 'the CA clients should trust for --api-tls-cert')
    .option('--no-api-tls', 'plain HTTP on the API (only behind a TLS-terminating proxy)')
    .action(
      (o: {
        db: string;
        port: number;
        host: string;
        showToken?: boolean;
        publicMetrics?: boolean;
        dataplaneNamespace: string;
        webhookPort: number;
        webhookUrl?: string;
        apiTlsName?: string[];
        apiTlsCert?: string;
        apiTlsKey?: string;
        apiTlsCa?: string;
        apiTls: boolean;
      }) =>
      run(async () => {
        const { runControlPlaneCommand } = load<typeof import('../controlplane/main')>('../controlplane/main');
        const { StoreLockedError } = load<typeof import('../controlplane/store-lock')>('../controlplane/store-lock');
        const s = settings();
        const temporal = { ...temporalConnectionOptions(s), namespace: s.namespace };
        const mode = s.kubernetes
          ? load<typeof import('./kubernetes')>('./kubernetes').controlPlaneMode(s.kubernetes, {
              dataplaneNamespace: o.dataplaneNamespace,
              webhook: { port: o.webhookPort, host: o.host, url: o.webhookUrl },
            })
          : undefined;
        if (Boolean(o.apiTlsCert) !== Boolean(o.apiTlsKey)) throw new CliError('--api-tls-cert and --api-tls-key go together', EXIT_REFUSED);
        const tls = { tlsNames: o.apiTlsName, tlsCert: o.apiTlsCert, tlsKey: o.apiTlsKey, tlsCa: o.apiTlsCa, noTls: !o.apiTls };
        try {
          await runControlPlaneCommand({ db: o.db, port: o.port, host: o.host, showToken: o.showToken, publicMetrics: o.publicMetrics, temporal, mode, ...tls });
        } catch (err) {
          // Refused, not failed: another control plane owns the store.
          if (err instanceof StoreLockedError) throw new CliError(err.message);
          // A missing or wrong key, a linked key file: one line, no stack.
          if (err instanceof Error && (err.name === 'StoreKeyError' || err.name === 'PrivateFileError')) throw new CliError(err.message, EXIT_UNEXPECTED);
          // Kubernetes mode: no kubeconfig, a rejected token, a missing verb or CRD; nothing was started.
          if (err instanceof Error && err.name === 'KubernetesPermanentError') throw new CliError(err.message, EXIT_REFUSED);
          throw err;
        }
        return 0;
      }),
    );

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  program
    .command('token')
    .description('have the control plane sign a data plane, worker or read-only credential (needs the admin token)')
    .addOption(new Option('--role <role>', 'what the credential may do').choices(['dataplane', 'worker', 'reader']).makeOptionMandatory())
    .requiredOption('--name <name>', 'who holds it (recorded as the actor of its writes)')
    .requiredOption('--out <file>', 'write the token here (mode 0600; must not exist)')
    .option('--valid-for <seconds>', 'expires after this many seconds', positiveInteger('--valid-for'))
    .option('--mesh <name>', 'dataplane: the one mesh it is bound to')
    .option('--host <id>', 'dataplane: the host id its stream uses')
    .option('--name-prefix <prefix>', 'dataplane: proxies whose names start with this')
    .option('--proxy <name>', 'dataplane: a proxy name it may speak for (repeatable)', collect)
    .option('--service <name>', 'dataplane: a kuma.io/service its proxies may claim (repeatable)', collect)
    .action((o: import('./commands/token').TokenCommandOptions) => run(() => load<typeof import('./commands/token')>('./commands/token').tokenCommand(o, settings())));

  program
    .command('revoke-token')
    .description('revoke one signed credential for good, by the id `token` printed (needs the admin token); its open streams close')
    .argument('<id>', 'the token id')
    .action((id: string) => run(() => load<typeof import('./commands/token')>('./commands/token').revokeTokenCommand(id, settings())));

  program
    .command('dataplanes')
    .description('run N data plane proxies (real mTLS), optionally with live traffic between them')
    .requiredOption('--count <n>', 'number of proxies', positiveInteger('--count'))
    .option('--mesh <name>', 'mesh name', 'default')
    .option('--services <k>', 'spread the proxies over K services', positiveInteger('--services'))
    .option('--traffic', 'send continuous mTLS requests between random pairs')
    .option('--metrics-address <host:port>', 'serve the traffic counters (trust failures among them) for Prometheus', hostPort('--metrics-address'))
    // Stable names: a restarted host re-registers the same proxies instead of leaving offline ones behind.
    .option('--name-prefix <prefix>', 'proxies are named <prefix>-<i>', `dp-${os.hostname()}`)
    .option('--keep-registered', 'on SIGINT/SIGTERM leave the proxies registered (offline) instead of deregistering them; a rotation then waits for them')
    .action((o: { count: number; mesh: string; services?: number; traffic?: boolean; namePrefix: string; metricsAddress?: string; keepRegistered?: boolean }) =>
      run(async () => {
        const s = settings();
        if (!s.controlPlaneToken) throw new CliError('CA_ROTATE_CP_TOKEN is not set: the proxies need the control plane token', EXIT_REFUSED);
        const { runDataplanesCommand } = load<typeof import('../dataplane/main')>('../dataplane/main');
        const caPem = s.controlPlaneCaFile ? readFileSync(s.controlPlaneCaFile, 'utf8') : undefined;
        return runDataplanesCommand({ ...o, controlPlaneUrl: s.controlPlaneUrl, token: s.controlPlaneToken, caPem });
      }),
    );

  program
    .command('demo')
    .description('the whole stack on one machine: Temporal, worker, control plane, proxies with traffic, one rotation')
    .option('--proxies <n>', 'number of proxies', positiveInteger('--proxies'), 50)
    .addOption(new Option('--to <type>', 'the new CA backend').choices(['builtin', 'provided', 'vault']).default('provided'))
    .option('--json', 'print the summary as one JSON document (last line)')
    .option('--keep', 'leave everything running to explore the Temporal UI (Ctrl-C ends it)')
    .action((o: { proxies: number; to: 'builtin' | 'provided' | 'vault'; json?: boolean; keep?: boolean }) =>
      run(() => load<typeof import('./commands/demo')>('./commands/demo').demoCommand({ ...o, kubernetes: program.opts<ConnectionFlags>().kubernetes })),
    );

  return program;
}

function reportFailure(err: CliError | SettingsError): number {
  process.stderr.write(`ca-rotate: ${err.message}\n`);
  return err instanceof CliError ? err.exitCode : EXIT_REFUSED;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const run = async (action: () => Promise<number>): Promise<void> => {
    exitCode = await action();
  };
  const program = buildProgram(run);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; a usage error (unknown flag, missing option) is invalid input.
      return err.exitCode === 0 ? 0 : EXIT_REFUSED;
    }
    if (err instanceof CaError) return reportFailure(caFailureForCli(err));
    if (err instanceof CliError || err instanceof SettingsError) return reportFailure(err);
    process.stderr.write(`ca-rotate: unexpected error: ${errorMessage(err)}\n`);
    if (process.env.CA_ROTATE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return EXIT_UNEXPECTED;
  }
}

if (require.main === module) {
  // main() turns every failure into an exit code, so this never rejects.
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
