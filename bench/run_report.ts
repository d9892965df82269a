/**
 * Turns the raw output of bench/run_overhead.sh (host) or bench/run_vm_bench.sh (VM) into Markdown tables.
 *
 * ```sh
 * deno run --allow-read bench/run_report.ts RAW_LOG [HYPERFINE_JSON]
 * ```
 *
 * RAW_LOG holds lines starting with `BENCH ` (bench/run_vm_guest.sh and bench/run_overhead.sh print them):
 * `summary`/`sample` lines of bench_timeit, `phases_json` lines of bench/run_phases.ts, `loop` lines of
 * bench_openclose/bench_forkexec, `mem` lines, `machine` lines. HYPERFINE_JSON is hyperfine's `--export-json`.
 *
 * @module
 */

/** Median of a list of numbers (NaN when empty). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil((p / 100) * s.length)) - 1]!;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "-";
}

/** One timed command: its samples (ms) and exit codes. */
interface Timed {
  ms: number[];
  codes: number[];
}

/** Parsed raw output. */
export interface Raw {
  machine: string[];
  timed: Map<string, Timed>;
  phases: Record<string, number>[];
  loops: { state: string; bench: string; nsPerOp: number }[];
  mem: { label: string; rssKb: number; hwmKb: number }[];
  pairs: { config: string; pair: number; state: string; bench: string; nsPerOp: number }[];
  other: string[];
}

/** Parses `BENCH ` lines. */
export function parseRaw(text: string): Raw {
  const raw: Raw = {
    machine: [],
    timed: new Map(),
    phases: [],
    loops: [],
    mem: [],
    pairs: [],
    other: [],
  };
  for (const full of text.split("\n")) {
    const line = full.replace(/\r$/, "");
    if (!line.startsWith("BENCH ")) continue;
    const [kind, ...rest] = line.slice(6).split(" ");
    if (kind === "machine") raw.machine.push(rest.join(" "));
    else if (kind === "sample") {
      const [label, , ms, code] = rest;
      const t = raw.timed.get(label!) ?? { ms: [], codes: [] };
      t.ms.push(Number(ms));
      t.codes.push(Number(code));
      raw.timed.set(label!, t);
    } else if (kind === "phases_json") raw.phases.push(JSON.parse(rest.join(" ")));
    else if (kind === "loop") {
      const [state, bench, ...kv] = rest;
      const nsPerOp = Number(kv.find((s) => s.startsWith("ns_per_op="))?.split("=")[1]);
      raw.loops.push({ state: state!, bench: bench!, nsPerOp });
    } else if (kind === "pair") {
      // "pair CONFIG K STATE BENCH ..." (older logs: no CONFIG, which was "all").
      const withConfig = !/^\d+$/.test(rest[0]!);
      const [config, pair, state, bench, ...kv] = withConfig ? rest : ["all", ...rest];
      const nsPerOp = Number(kv.find((s) => s.startsWith("ns_per_op="))?.split("=")[1]);
      raw.pairs.push({
        config: config!,
        pair: Number(pair),
        state: state!,
        bench: bench!,
        nsPerOp,
      });
    } else if (kind === "mem") {
      const l = rest.join(" ");
      raw.mem.push({
        label: rest[0]!,
        rssKb: Number(/VmRSS: (\d+)/.exec(l)?.[1]),
        hwmKb: Number(/VmHWM: (\d+)/.exec(l)?.[1]),
      });
    } else if (kind !== "summary") raw.other.push(`${kind} ${rest.join(" ")}`);
  }
  return raw;
}

/** hyperfine's --export-json, as far as it is read here. */
interface Hyperfine {
  results: { command: string; times: number[]; exit_codes: (number | null)[] }[];
}

function codesText(codes: number[]): string {
  const counts = new Map<number, number>();
  for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].sort((a, b) => a[0] - b[0]).map(([c, n]) => `${n}x exit ${c}`).join(", ");
}

function wallTable(timed: Map<string, Timed>): string[] {
  const out = [
    "| command | runs | exit codes | mean ms | median ms | p95 ms | min ms | max ms | stddev ms |",
    "| --- | --: | --- | --: | --: | --: | --: | --: | --: |",
  ];
  for (const [label, t] of timed) {
    const m = mean(t.ms);
    const sd = Math.sqrt(t.ms.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, t.ms.length - 1));
    out.push(
      `| ${label} | ${t.ms.length} | ${codesText(t.codes)} | ${fmt(m)} | ${fmt(median(t.ms))} | ` +
        `${fmt(percentile(t.ms, 95))} | ${fmt(Math.min(...t.ms))} | ${fmt(Math.max(...t.ms))} | ${
          fmt(sd)
        } |`,
    );
  }
  // The reference of issue 12: `deno run` of an empty script (the runtime's own start-up); before it, /bin/true.
  const baseName = timed.has("deno_empty") ? "deno_empty" : "true";
  const base = timed.get(baseName);
  for (const name of ["x00_version", "x00_run_true"]) {
    const t = timed.get(name);
    if (!base || !t || name === baseName) continue;
    out.push("");
    out.push(
      `Added by ${name} over ${baseName}: median ${fmt(median(t.ms) - median(base.ms))} ms (ratio ${
        fmt(median(t.ms) / median(base.ms), 2)
      }), mean ${fmt(mean(t.ms) - mean(base.ms))} ms, p95 ${
        fmt(percentile(t.ms, 95) - percentile(base.ms, 95))
      } ms.`,
    );
  }
  return out;
}

const PHASES = [
  "runtime",
  "imports_before_main",
  "imports",
  "policy",
  "bpf",
  "protect",
  "fetch",
  "deliver",
  "spawn",
  "workload",
  "loop_stop",
  "detach",
];

function phasesTable(phases: Record<string, number>[], total?: Timed): string[] {
  const out = [
    "| phase | median ms | p95 ms | min ms | max ms |",
    "| --- | --: | --: | --: | --: |",
  ];
  for (const p of PHASES) {
    const xs = phases.map((r) => r[p]).filter((x): x is number => typeof x === "number");
    if (xs.length === 0) continue;
    out.push(
      `| ${p} | ${fmt(median(xs))} | ${fmt(percentile(xs, 95))} | ${fmt(Math.min(...xs))} | ${
        fmt(Math.max(...xs))
      } |`,
    );
  }
  const inProc = phases.map((r) => (r.runtime ?? 0) + r.in_process!);
  out.push(
    `| sum (runtime + in process) | ${fmt(median(inProc))} | ${fmt(percentile(inProc, 95))} | | |`,
  );
  if (total) {
    out.push(
      `| wall time measured outside (bench_timeit) | ${fmt(median(total.ms))} | ${
        fmt(percentile(total.ms, 95))
      } | | |`,
    );
  }
  const confirmed = phases.filter((r) => r.protection_confirmed as unknown === true).length;
  const mech = [...new Set(phases.map((r) => `${r.mechanism}/${r.mode}`))].join(", ");
  out.push("");
  out.push(
    `${phases.length} runs (${mech}); kernel protection of the workload confirmed by the map lookup ` +
      `right after spawn in ${confirmed} of ${phases.length}.`,
  );
  return out;
}

function loopsTable(loops: Raw["loops"]): string[] {
  const out = [
    "| benchmark | X00 | reps | median ns/op | min … max ns/op | spread | ratio to without (median) |",
    "| --- | --- | --: | --: | --: | --: | --: |",
  ];
  for (const bench of [...new Set(loops.map((l) => l.bench))]) {
    const of = loops.filter((l) => l.bench === bench);
    const without = of.filter((l) => l.state.startsWith("without")).map((l) => l.nsPerOp);
    const base = median(without);
    for (const state of [...new Set(of.map((l) => l.state))]) {
      const xs = of.filter((l) => l.state === state).map((l) => l.nsPerOp);
      const lo = Math.min(...xs), hi = Math.max(...xs);
      out.push(
        `| ${bench} | ${state} | ${xs.length} | ${fmt(median(xs))} | ${fmt(lo)} … ${fmt(hi)} | ` +
          `${fmt(((hi - lo) / median(xs)) * 100)}% | ${fmt(median(xs) / base, 3)} |`,
      );
    }
    out.push(
      `| ${bench} | all without blocks | ${without.length} | ${fmt(base)} | ${
        fmt(Math.min(...without))
      } … ${fmt(Math.max(...without))} | ${
        fmt(((Math.max(...without) - Math.min(...without)) / base) * 100)
      }% | 1.000 |`,
    );
  }
  return out;
}

function pairsTable(pairs: Raw["pairs"]): string[] {
  const out = [
    "| benchmark | programs toggled | pairs | median ns/op off | median ns/op on | per-pair ratio on/off: median | mean | p25 … p75 | min … max |",
    "| --- | --- | --: | --: | --: | --: | --: | --: | --: |",
  ];
  const keys = [...new Set(pairs.map((p) => `${p.bench} ${p.config}`))].sort();
  for (const key of keys) {
    const [bench, config] = key.split(" ");
    const of = pairs.filter((p) => p.bench === bench && p.config === config);
    const ratios: number[] = [];
    for (const k of [...new Set(of.map((p) => p.pair))]) {
      const on = of.find((p) => p.pair === k && p.state === "on");
      const off = of.find((p) => p.pair === k && p.state === "off");
      if (on && off) ratios.push(on.nsPerOp / off.nsPerOp);
    }
    const st = (s: string) => of.filter((p) => p.state === s).map((p) => p.nsPerOp);
    out.push(
      `| ${bench} | ${config} | ${ratios.length} | ${fmt(median(st("off")))} | ${
        fmt(median(st("on")))
      } | ` +
        `${fmt(median(ratios), 3)} | ${fmt(mean(ratios), 3)} | ${
          fmt(percentile(ratios, 25), 3)
        } … ${fmt(percentile(ratios, 75), 3)} | ${fmt(Math.min(...ratios), 3)} … ${
          fmt(Math.max(...ratios), 3)
        } |`,
    );
  }
  return out;
}

function memTable(mem: Raw["mem"]): string[] {
  const out = ["| sample | VmRSS MB | VmHWM MB |", "| --- | --: | --: |"];
  for (const m of mem) {
    out.push(`| ${m.label} | ${fmt(m.rssKb / 1024)} | ${fmt(m.hwmKb / 1024)} |`);
  }
  return out;
}

/** Builds the report. */
export function report(raw: Raw, hyperfine?: Hyperfine): string {
  const lines: string[] = [];
  if (raw.machine.length) lines.push("Machine:", "", ...raw.machine.map((m) => `- ${m}`), "");
  if (hyperfine) {
    const timed = new Map<string, Timed>();
    for (const r of hyperfine.results) {
      timed.set(r.command, {
        ms: r.times.map((s) => s * 1000),
        codes: r.exit_codes.map((c) => c ?? -1),
      });
    }
    lines.push("Wall time (hyperfine):", "", ...wallTable(timed), "");
  }
  const timed = new Map([...raw.timed].filter(([k]) => k !== "phases"));
  if (timed.size) lines.push("Wall time (bench_timeit):", "", ...wallTable(timed), "");
  if (raw.phases.length) {
    // The first lines come from warm-up runs: keep as many as there were timed runs.
    const runs = raw.timed.get("phases")?.ms.length ?? raw.phases.length;
    lines.push(
      "Phases (bench/run_phases.ts):",
      "",
      ...phasesTable(raw.phases.slice(-runs), raw.timed.get("phases")),
      "",
    );
  }
  if (raw.loops.length) lines.push("Loops:", "", ...loopsTable(raw.loops), "");
  if (raw.pairs.length) lines.push("Paired loops:", "", ...pairsTable(raw.pairs), "");
  if (raw.mem.length) lines.push("Memory of the x00 process:", "", ...memTable(raw.mem), "");
  if (raw.other.length) lines.push("Other lines:", "", ...raw.other.map((o) => `- ${o}`), "");
  return lines.join("\n");
}

if (import.meta.main) {
  const [rawFile, hfFile] = Deno.args;
  if (!rawFile) {
    console.error("usage: run_report.ts RAW_LOG [HYPERFINE_JSON]");
    Deno.exit(2);
  }
  const hf = hfFile ? JSON.parse(Deno.readTextFileSync(hfFile)) as Hyperfine : undefined;
  console.log(report(parseRaw(Deno.readTextFileSync(rawFile)), hf));
}
