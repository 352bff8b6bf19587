/**
 * Load generation shared by the benchmarks: bounded autocannon runs with per-response latencies,
 * and scenario-versus-baseline measurement in interleaved slices. Knobs: BENCH_DURATION (measured
 * seconds per side, default 5), BENCH_WARMUP (default 1.5), BENCH_CONNECTIONS (default 10).
 */
import autocannon from "autocannon";
import { addCpu, type CpuUse, cpuNow, cpuSince } from "./cpu.ts";

export const durationSeconds = Number(process.env.BENCH_DURATION ?? 5);
export const warmupSeconds = Number(process.env.BENCH_WARMUP ?? 1.5);
export const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
export const sliceSeconds = 1;

export interface Load {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** A fresh body for every request. */
  body?: () => string;
  expect: number;
  /** Requests per second across all connections; unset means as fast as the server answers. */
  rate?: number;
}

export interface Measured {
  /** The offered rate, for a fixed-rate scenario; its req/s says nothing of the server's capacity. */
  rate?: number;
  name: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  failures: string[];
  /** CPU per answered request, in µs (Linux only). */
  cpu?: CpuUse;
}

/** One bounded autocannon run; latencies are taken per response (autocannon's own histogram has 1 ms steps). */
export async function drive(load: Load, seconds: number): Promise<Sample> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const started = performance.now();
  let finish: (error: Error | null, result: autocannon.Result) => void = () => {};
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (error, result) => (error ? reject(error) : resolve(result));
  });
  const instance = autocannon(
    {
      url: load.url,
      connections,
      duration: seconds,
      ...(load.rate ? { overallRate: load.rate } : {}),
      timeout: 10,
      requests: [
        {
          method: load.method ?? "GET",
          headers: load.headers ?? {},
          ...(load.body
            ? {
                setupRequest: (request: autocannon.Request) => {
                  request.body = load.body?.();
                  return request;
                },
              }
            : {}),
        },
      ],
    },
    (error, result) => finish(error, result),
  );
  instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status === load.expect) latencies.push(ms);
    else statuses.set(status, (statuses.get(status) ?? 0) + 1);
  });
  const result = await finished;
  const elapsed = (performance.now() - started) / 1000;
  const failures = [...statuses].map(([status, count]) => `${count} × HTTP ${status}`);
  if (result.errors > 0) failures.push(`${result.errors} connection errors`);
  if (result.timeouts > 0) failures.push(`${result.timeouts} timeouts`);
  return { latencies, seconds: elapsed, failures };
}

export interface Sample {
  latencies: number[];
  seconds: number;
  failures: string[];
  /** CPU used during the sample, in µs. */
  cpu?: CpuUse;
}

export function summarise(name: string, sample: Sample): Measured {
  const sorted = Float64Array.from(sample.latencies).sort();
  return {
    name,
    rps: sorted.length / sample.seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    requests: sorted.length,
    failures: sample.failures,
    ...(sample.cpu && sorted.length > 0 ? { cpu: perRequest(sample.cpu, sorted.length) } : {}),
  };
}

/**
 * Measures `load` and the bare route in alternating one-second slices (ABAB…), so that both see
 * the same background load: on a shared machine that drifts within seconds, this keeps the ratio
 * honest where two back-to-back runs would not.
 */
export async function measurePaired(
  name: string,
  load: Load,
  bare: Load,
  /** The processes serving each side, for the CPU figures. */
  servers: { load: readonly number[]; bare: readonly number[] } = { load: [], bare: [] },
): Promise<{ measured: Measured; bare: Measured }> {
  await drive(bare, Math.min(0.5, warmupSeconds));
  await drive(load, warmupSeconds);
  const slices = Math.max(1, Math.round(durationSeconds / sliceSeconds));
  const totals = { load: empty(), bare: empty() };
  for (let i = 0; i < slices; i++) {
    for (const [side, target] of [
      ["bare", bare],
      ["load", load],
    ] as const) {
      const before = cpuNow(servers[side]);
      const run = await drive(target, sliceSeconds);
      // Let requests cut off at the end of the slice finish before the other side starts.
      await new Promise((done) => setTimeout(done, 100));
      const after = cpuNow(servers[side]);
      const total = totals[side];
      total.latencies.push(...run.latencies);
      total.seconds += run.seconds;
      total.failures.push(...run.failures);
      if (before && after)
        total.cpu = addCpu(total.cpu ?? { servers: 0, postgres: 0, generator: 0 }, cpuSince(before, after));
    }
  }
  const rate = load.rate ? { rate: load.rate } : {};
  return {
    measured: { ...summarise(name, totals.load), ...rate },
    bare: { ...summarise(`bare (beside ${name})`, totals.bare), ...rate },
  };
}

function perRequest(cpu: CpuUse, requests: number): CpuUse {
  return {
    servers: cpu.servers / requests,
    postgres: cpu.postgres / requests,
    generator: cpu.generator / requests,
  };
}

function empty(): Sample {
  return { latencies: [], seconds: 0, failures: [] };
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export const int = (n: number) => Math.round(n).toLocaleString("en-US");
export const times = (r: number) => `${r >= 0.1 ? r.toFixed(2) : r.toFixed(3)}×`;
export const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));

export function line(m: Measured, bare: Measured): string {
  const failed = [...m.failures, ...bare.failures];
  return (
    `${m.name.padEnd(14)} ${int(m.rps).padStart(6)} req/s, p50 ${ms(m.p50).padStart(4)} ms, p99 ${ms(m.p99).padStart(5)} ms` +
    ` — ${times(m.rps / bare.rps)} bare route (bare ${int(bare.rps)} req/s, p50 ${ms(bare.p50)} ms, p99 ${ms(bare.p99)} ms)` +
    (failed.length > 0 ? `  !! ${failed.join(", ")}` : "")
  );
}

/** The markdown table of a run's results and whether any scenario failed. */
export function report(results: { measured: Measured; bare: Measured }[]): number {
  // Fixed-rate scenarios hold the bare route to the same rate: only full-speed ones show its drift.
  const fullSpeed = results.filter((r) => r.bare.rate === undefined);
  const bareRates = (fullSpeed.length > 0 ? fullSpeed : results).map((r) => r.bare.rps);
  const spread = (Math.max(...bareRates) - Math.min(...bareRates)) / Math.min(...bareRates);
  console.log("");
  console.log(
    `The bare route ranged from ${int(Math.min(...bareRates))} to ${int(Math.max(...bareRates))} req/s across scenarios ` +
      `(${(spread * 100).toFixed(0)}%)${spread > 0.25 ? ": the machine was busy; run again for quieter figures" : ""}.`,
  );
  console.log("");
  console.log(
    "| Scenario | req/s | p50 (ms) | p99 (ms) | bare req/s | bare p50 (ms) | bare p99 (ms) | × bare |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const { measured: m, bare: b } of results) {
    console.log(
      `| ${m.name} | ${int(m.rps)} | ${ms(m.p50)} | ${ms(m.p99)} | ${int(b.rps)} | ${ms(b.p50)} | ${ms(b.p99)} | ${times(m.rps / b.rps)} |`,
    );
  }
  const failed = results.filter(
    (r) => r.measured.failures.length + r.bare.failures.length > 0 || r.measured.requests === 0,
  );
  if (failed.length > 0) {
    console.error(
      `\n${failed.length} scenario(s) had failed requests: ${failed.map((r) => r.measured.name).join(", ")}`,
    );
    return 1;
  }
  return 0;
}

/**
 * The CPU table: µs per answered request of the server under test, PostgreSQL and the load
 * generator, each side. Printed only when figures were taken (Linux).
 */
export function reportCpu(results: { measured: Measured; bare: Measured }[], server = "hub") {
  const measured = results.filter((r) => r.measured.cpu && r.bare.cpu);
  if (measured.length === 0) return;
  const us = (n: number | undefined) => int(n ?? 0);
  console.log("");
  console.log(
    `CPU per answered request (µs; ${server}, PostgreSQL's processes, load generator); bare route beside it:`,
  );
  console.log("");
  console.log(
    `| Scenario | ${server} | PostgreSQL | generator | total | bare server | bare generator | bare total |`,
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const { measured: m, bare: b } of measured) {
    const total = (c: CpuUse | undefined) => (c ? c.servers + c.postgres + c.generator : 0);
    console.log(
      `| ${m.name} | ${us(m.cpu?.servers)} | ${us(m.cpu?.postgres)} | ${us(m.cpu?.generator)} | ${us(total(m.cpu))} | ${us(b.cpu?.servers)} | ${us(b.cpu?.generator)} | ${us(total(b.cpu))} |`,
    );
  }
}
