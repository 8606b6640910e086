/**
 * `npm run chaos`: chaos drills (bench/chaos-drill.ts), one JSON line per run on stdout, progress on
 * stderr, then a table. Bounded: a fixed number of runs, each with a time limit.
 *
 *   npm run chaos                          20 runs of 1,000 proxies, seeds <base>..<base+19> (base printed)
 *   npm run chaos -- --seed 4242           that one run again (same target, faults, times, durations)
 *   npm run chaos -- --runs 3 --proxies 200 --base-seed 7
 *   npm run chaos -- --doc docs/reliability.md   also writes the table into the doc
 *   npm run chaos -- --baseline            first one run without faults, to compare rotation times
 *   npm run chaos -- --propagation-jitter 0   configs reach the proxies at once (default: up to 3 s,
 *                                          so that on a quiet machine the faults land inside the rotation)
 */
import fs from 'node:fs';
import { provideDevBinaries } from '../src/devstack/binaries';
import { drillTable, planDrill, runDrill, type DrillRecord } from './chaos-drill';

interface Args {
  runs: number;
  proxies: number;
  seeds: number[];
  doc?: string;
  baseline: boolean;
  propagationJitterMs: number;
}

function parseArgs(argv: string[]): Args {
  const value = (flag: string): string | undefined => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const whole = (flag: string, fallback: number, min: number): number => {
    const text = value(flag);
    if (text === undefined) return fallback;
    const parsed = Number(text);
    if (!Number.isInteger(parsed) || parsed < min) throw new Error(`${flag} must be a whole number >= ${min}, got "${text}"`);
    return parsed;
  };
  const runs = whole('--runs', 20, 1);
  const proxies = whole('--proxies', 1_000, 20);
  const seed = value('--seed');
  const base = whole('--base-seed', Math.floor(Math.random() * 1_000_000), 0);
  const seeds = seed !== undefined ? [whole('--seed', 0, 0)] : Array.from({ length: runs }, (_, i) => base + i);
  return { runs: seeds.length, proxies, seeds, doc: value('--doc'), baseline: argv.includes('--baseline'), propagationJitterMs: whole('--propagation-jitter', 3_000, 0) };
}

const progress = (line: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

function writeDoc(file: string, table: string): void {
  const begin = '<!-- chaos-table:begin -->';
  const end = '<!-- chaos-table:end -->';
  const text = fs.readFileSync(file, 'utf8');
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${begin} ... ${end} section`);
  fs.writeFileSync(file, `${text.slice(0, from + begin.length)}\n${table}\n${text.slice(to)}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { temporal, bao } = await provideDevBinaries(['temporal', 'bao']);
  if (!temporal) throw new Error('no Temporal CLI binary: run npm run provide-binaries');
  progress(`${args.runs} runs of ${args.proxies} proxies, seeds ${args.seeds.join(', ')}, configs reach proxies within ${args.propagationJitterMs} ms`);
  const records: DrillRecord[] = [];
  const plans = args.seeds.map((seed) => planDrill(seed, args.proxies));
  if (args.baseline) plans.unshift({ ...planDrill(args.seeds[0] ?? 0, args.proxies, { kinds: [] }), to: 'provided' });
  for (const plan of plans) {
    const seed = plan.seed;
    progress(`seed ${seed}: to ${plan.to}, faults ${plan.faults.map((f) => `${f.kind}@${f.atMs}ms/${f.forMs}ms`).join(', ')}`);
    const record = await runDrill(plan, { temporalBinary: temporal, baoBinary: bao, log: progress, propagationJitterMs: args.propagationJitterMs });
    records.push(record);
    process.stdout.write(`${JSON.stringify(record)}\n`);
    progress(`seed ${seed}: ${record.violations.length === 0 ? 'PASS' : `FAIL (${record.violations.join('; ')})`} in ${record.rotationMs} ms`);
  }
  const table = drillTable(records);
  process.stderr.write(`\n${table}\n`);
  if (args.doc) writeDoc(args.doc, table);
  const failed = records.filter((r) => r.violations.length > 0).length;
  progress(`${records.length - failed} of ${records.length} runs held every invariant`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().then(
  // The SDK's connections may keep the event loop alive a while; the results are out.
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
