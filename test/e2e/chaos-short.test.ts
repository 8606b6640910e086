/**
 * The short chaos run (`npm run chaos` is the full one): two seeded drills of 60 proxies that between
 * them inject every fault class (kill -9 of a worker, of Temporal and of the control plane, dropped
 * streams, a stopped proxy host, CPU starvation, an OpenBao outage), on a machine kept busy by a CPU
 * burner this test starts. Each run must hold every invariant; the table is printed.
 */
import { planDrill, runDrill, drillTable, FAULT_KINDS, type DrillRecord } from '../../bench/chaos-drill';
import { provideDevBinaries } from '../../src/devstack/binaries';
import { startCpuBurner, type CpuBurner } from '../harness/cpu-burner';
import { testServers } from '../harness/env';

/** Chosen so that the two schedules cover every fault class (see the first test). */
const SEEDS = [9, 45];
const PROXIES = 60;
const WINDOW_MS = 6_000;
jest.setTimeout(30 * 60_000);

let burner: CpuBurner;
const records: DrillRecord[] = [];

beforeAll(() => {
  burner = startCpuBurner();
});

afterAll(async () => {
  await burner.stop();
  console.log(`short chaos run under a CPU burner (${burner.processes} busy processes):\n${drillTable(records)}`);
});

test('the seeds cover every fault class, and a seed always gives the same schedule', () => {
  const plans = SEEDS.map((seed) => planDrill(seed, PROXIES, { windowMs: WINDOW_MS }));
  expect(new Set(plans.flatMap((plan) => plan.faults.map((fault) => fault.kind)))).toEqual(new Set(FAULT_KINDS));
  expect(SEEDS.map((seed) => planDrill(seed, PROXIES, { windowMs: WINDOW_MS }))).toEqual(plans);
});

test.each(SEEDS)('seed %i: the rotation completes under its faults with every invariant held', async (seed) => {
  const { bao } = await provideDevBinaries(['bao']);
  const record = await runDrill(planDrill(seed, PROXIES, { windowMs: WINDOW_MS }), {
    temporalBinary: testServers().temporalBinary,
    baoBinary: bao,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  records.push(record);
  expect(record.violations).toEqual([]);
  expect(record.traffic.requests).toBeGreaterThan(0);
});
