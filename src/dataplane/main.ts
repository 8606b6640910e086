/**
 * `ca-rotate dataplanes --count N [--mesh default] [--services K] [--traffic]`: runs a data plane host
 * until SIGINT/SIGTERM, printing a status line every few seconds. Wired into the CLI by src/cli.
 */
import { startDataplaneHost, type DataplaneHost } from './host';
import type { ProxyKeyType } from './identity';
import { dataplaneMetrics, serveMetrics } from './metrics';

export interface DataplanesCommandOptions {
  count: number;
  mesh?: string;
  services?: number;
  traffic?: boolean;
  controlPlaneUrl: string;
  token: string;
  caPem?: string;
  namePrefix?: string;
  keyType?: ProxyKeyType;
  /** host:port where Prometheus scrapes the traffic counters (trust failures among them). */
  metricsAddress?: string;
  /** Status line period. Default 5 s. */
  statusIntervalMs?: number;
  /** Where lines go. Default stdout. */
  print?: (line: string) => void;
  /** Resolves when the command should stop. Default: the first SIGINT or SIGTERM. */
  until?: Promise<unknown>;
  /** Leave the proxies registered (offline) when stopping, e.g. for a restart under the same names. Default: deregister them. */
  keepRegistered?: boolean;
}

export function statusLine(host: DataplaneHost): string {
  const stats = host.stats();
  const reasons = Object.entries(stats.failuresByReason)
    .sort(([, a], [, b]) => b - a)
    .map(([reason, count]) => `${reason}: ${count}`)
    .join(', ');
  return `ready ${host.readyCount()}/${host.proxies.length} | requests ok ${stats.ok} failed ${stats.failed}${reasons ? ` (${reasons})` : ''}`;
}

function nextTermination(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Returns the exit code: 0 after a clean stop. */
export async function runDataplanesCommand(options: DataplanesCommandOptions): Promise<number> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const until = options.until ?? nextTermination();
  const host = await startDataplaneHost({
    controlPlaneUrl: options.controlPlaneUrl,
    token: options.token,
    caPem: options.caPem,
    mesh: options.mesh ?? 'default',
    count: options.count,
    services: options.services,
    namePrefix: options.namePrefix,
    keyType: options.keyType,
    traffic: options.traffic ?? false,
    logger: print,
  });
  print(`host ${host.hostId}: ${host.proxies.length} proxies, mTLS listener on 127.0.0.1:${host.port}`);
  const metrics = options.metricsAddress ? await serveMetrics(dataplaneMetrics(host), options.metricsAddress) : undefined;
  if (metrics) print(`metrics for Prometheus on ${metrics.url}`);
  const timer = setInterval(() => print(statusLine(host)), options.statusIntervalMs ?? 5_000);
  try {
    await until;
  } finally {
    clearInterval(timer);
    print(statusLine(host));
    await metrics?.stop();
    await host.stop({ deregister: !options.keepRegistered });
  }
  return 0;
}
