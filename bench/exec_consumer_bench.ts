/**
 * Exec-consumer benchmarks (run as root; results go in bench/RESULTS.md):
 *
 *  a. CPU per 10,000 exec events: bench/exec_consumer/consumer.c (libbpf, counts records) against X00's consumer
 *     (bench/exec_consumer_x00.ts: ExecMonitor + EventLoop + decodeExecEvent + JsonLinesSink to /dev/null), both
 *     fed by bench/exec_consumer/execgen.c doing 10,000 fork+execve of /bin/true; plus an idle Deno process for the
 *     same wall time (the runtime's fixed cost) and the batching experiment (`--batch-ms 10`).
 *  b. Lost events at the highest exec rate of this machine: one generator per core, 20,000 execs each; also a
 *     deliberately small ring buffer with slow batches, to show that losses are counted and reported.
 *  c. `x00 audit` start-to-first-event time and peak RSS (VmHWM) over 10 s of exec load.
 *  d. Where X00's CPU goes: the same 10,000 execs with the JS handler doing less (count / decode / full) and with
 *     the wake-up model changed (one epoll wake-up per record, as today, or a drain every 50 ms).
 *
 *   deno run -A bench/exec_consumer_bench.ts [--runs 5] [--only a,b,c,d]
 *
 * Raw results: bench/results/raw/exec_consumer-<time>.json (not committed).
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;
const OBJECT = `${ROOT}bpf/objects/exec_monitor.bpf.o`;
const X00_CONSUMER = `${ROOT}bench/exec_consumer_x00.ts`;
const text = new TextDecoder();

interface ConsumerResult {
  consumer: string;
  records: number;
  matched: number;
  lost_events: number;
  cpu_ms: number;
  wall_ms: number;
}

interface GenResult {
  execs: number;
  seconds: number;
  per_second: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${text.decode(out.stderr)}`);
  return text.decode(out.stdout).trim();
}

/** Builds the C consumer and the generator into a temporary directory. */
async function build(dir: string): Promise<{ consumer: string; execgen: string }> {
  const src = `${ROOT}bench/exec_consumer`;
  await sh("gcc", [
    "-O2",
    "-Wall",
    "-I",
    `${ROOT}bpf`,
    "-o",
    `${dir}/consumer`,
    `${src}/consumer.c`,
    "-lbpf",
  ]);
  await sh("gcc", ["-O2", "-Wall", "-o", `${dir}/execgen`, `${src}/execgen.c`]);
  return { consumer: `${dir}/consumer`, execgen: `${dir}/execgen` };
}

/** Reads a child's stdout line by line. */
function lineReader(stream: ReadableStream<Uint8Array>): {
  next(): Promise<string | undefined>;
} {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return {
    async next() {
      for (;;) {
        const nl = buf.indexOf("\n");
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          return line;
        }
        const { value, done } = await reader.read();
        if (done) {
          const rest = buf;
          buf = "";
          return rest || undefined;
        }
        buf += value;
      }
    },
  };
}

/** Starts a consumer, waits for "ready", runs `load`, then waits for its JSON result (SIGINT after a grace). */
async function measure(
  cmd: string,
  args: string[],
  load: () => Promise<GenResult[]>,
): Promise<{ consumer: ConsumerResult; gens: GenResult[] }> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const out = lineReader(child.stdout);
  const ready = await out.next();
  if (ready !== "ready") throw new Error(`${cmd}: expected 'ready', got ${ready}`);
  const gens = await load();
  const grace = setTimeout(() => child.kill("SIGINT"), 5000);
  let last: string | undefined;
  for (let line = await out.next(); line !== undefined; line = await out.next()) last = line;
  clearTimeout(grace);
  await child.status;
  return { consumer: JSON.parse(last ?? "null"), gens };
}

async function generate(execgen: string, n: number, parallel = 1): Promise<GenResult[]> {
  return await Promise.all(
    Array.from({ length: parallel }, async () => JSON.parse(await sh(execgen, [String(n)]))),
  );
}

function c(tools: { consumer: string }, count: number): [string, string[]] {
  return [tools.consumer, [OBJECT, String(count), "120"]];
}

function x00(count: number, extra: string[] = []): [string, string[]] {
  return [Deno.execPath(), [
    "run",
    "-A",
    X00_CONSUMER,
    "--count",
    String(count),
    "--timeout",
    "120",
    ...extra,
  ]];
}

interface Machine {
  kernel: string;
  cpu: string;
  cores: string;
  memory: string;
  deno: string;
  date: string;
}

async function machine(): Promise<Machine> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  return {
    kernel: await sh("uname", ["-r"]),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    cores: String(navigator.hardwareConcurrency),
    memory: /^MemTotal:\s*(.*)$/m.exec(await Deno.readTextFile("/proc/meminfo"))?.[1] ?? "",
    deno: Deno.version.deno,
    date: new Date().toISOString(),
  };
}

async function benchA(tools: { consumer: string; execgen: string }, runs: number, execs: number) {
  const rows: Record<string, ConsumerResult[]> = { c: [], x00: [], "x00-batch-10ms": [], idle: [] };
  const rates: number[] = [];
  // Warm-up: Deno's module cache, page cache of the binaries.
  await measure(...x00(1000), () => generate(tools.execgen, 1000));
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? ["c", "x00", "x00-batch-10ms"] : ["x00-batch-10ms", "x00", "c"];
    for (const kind of order) {
      const [cmd, args] = kind === "c"
        ? c(tools, execs)
        : x00(execs, kind === "x00" ? [] : ["--batch-ms", "10"]);
      const { consumer, gens } = await measure(cmd, args, () => generate(tools.execgen, execs));
      rows[kind]!.push(consumer);
      rates.push(gens[0]!.per_second);
      console.error(`a run ${r + 1}: ${JSON.stringify(consumer)} ${JSON.stringify(gens)}`);
    }
    const wall = rows.x00!.at(-1)!.wall_ms;
    const idle = JSON.parse(
      await sh(Deno.execPath(), ["run", "-A", X00_CONSUMER, "--idle", String(wall)]),
    );
    rows.idle!.push(idle);
    console.error(`a run ${r + 1}: ${JSON.stringify(idle)}`);
  }
  const per10k = (xs: ConsumerResult[]) =>
    median(xs.map((x) => x.records ? x.cpu_ms * 10000 / x.records : x.cpu_ms));
  const summary = {
    exec_rate_per_second: median(rates),
    c_cpu_ms_per_10k: per10k(rows.c!),
    x00_cpu_ms_per_10k: per10k(rows.x00!),
    x00_batch_cpu_ms_per_10k: per10k(rows["x00-batch-10ms"]!),
    idle_deno_cpu_ms: median(rows.idle!.map((x) => x.cpu_ms)),
    wall_ms: median(rows.x00!.map((x) => x.wall_ms)),
    lost: Object.fromEntries(
      Object.entries(rows).map(([k, xs]) => [k, xs.reduce((n, x) => n + (x.lost_events ?? 0), 0)]),
    ),
  };
  console.log("\n### a. CPU per 10,000 exec events (median of %d runs)\n", runs);
  console.log("| consumer | CPU ms / 10,000 events | vs C | lost |");
  console.log("| --- | ---: | ---: | ---: |");
  console.log(
    `| C (libbpf, count only) | ${
      summary.c_cpu_ms_per_10k.toFixed(0)
    } | 1.0x | ${summary.lost.c} |`,
  );
  console.log(
    `| X00 (decode + JSON Lines to /dev/null) | ${summary.x00_cpu_ms_per_10k.toFixed(0)} | ${
      (summary.x00_cpu_ms_per_10k / summary.c_cpu_ms_per_10k).toFixed(1)
    }x | ${summary.lost.x00} |`,
  );
  console.log(
    `| X00, experiment: 10 ms batches | ${summary.x00_batch_cpu_ms_per_10k.toFixed(0)} | ${
      (summary.x00_batch_cpu_ms_per_10k / summary.c_cpu_ms_per_10k).toFixed(1)
    }x | ${summary.lost["x00-batch-10ms"]} |`,
  );
  console.log(
    `| idle Deno, same wall time (${(summary.wall_ms / 1000).toFixed(1)} s) | ${
      summary.idle_deno_cpu_ms.toFixed(0)
    } | | |`,
  );
  console.log(`\nexec rate: ${summary.exec_rate_per_second.toFixed(0)}/s (one generator)`);
  return { rows, summary };
}

async function benchB(tools: { consumer: string; execgen: string }) {
  const per = 20000;
  const parallel = navigator.hardwareConcurrency;
  const total = per * parallel;
  const cases: [string, [string, string[]]][] = [
    ["C (libbpf), 1 MiB ring", c(tools, total)],
    ["X00, 1 MiB ring (default)", x00(total)],
    [
      "X00, 4 KiB ring, 50 ms batches (forced losses)",
      x00(total, [
        "--ring-bytes",
        "4096", // the smallest ring (one page): ~36 short execs, fewer than 50 ms of execs here
        "--batch-ms",
        "50",
      ]),
    ],
  ];
  const out = [];
  console.log(`\n### b. Lost events at the highest exec rate (${parallel} x ${per} execs)\n`);
  console.log("| consumer | execs | exec rate /s | events seen | lost_events | seen + lost |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const [name, [cmd, args]] of cases) {
    const { consumer, gens } = await measure(
      cmd,
      args,
      () => generate(tools.execgen, per, parallel),
    );
    const execs = gens.reduce((n, g) => n + g.execs, 0);
    const rate = execs / Math.max(...gens.map((g) => g.seconds));
    console.error(`b ${name}: ${JSON.stringify(consumer)} ${JSON.stringify(gens)}`);
    console.log(
      `| ${name} | ${execs} | ${
        rate.toFixed(0)
      } | ${consumer.matched} | ${consumer.lost_events} | ${
        consumer.matched + consumer.lost_events
      } |`,
    );
    out.push({ name, consumer, gens, rate });
  }
  return out;
}

async function benchD(tools: { execgen: string }, runs: number, execs: number) {
  const variants: [string, string[]][] = [
    ["count only, epoll wake-up per record", ["--handler", "count"]],
    ["decode, epoll wake-up per record", ["--handler", "decode"]],
    ["decode + JSON Lines, epoll wake-up per record (x00 audit)", []],
    ["count only, drain every 50 ms", ["--handler", "count", "--timer-ms", "50"]],
    ["decode, drain every 50 ms", ["--handler", "decode", "--timer-ms", "50"]],
    ["decode + JSON Lines, drain every 50 ms", ["--timer-ms", "50"]],
    ["decode + JSON Lines, epoll then 10 ms batch", ["--batch-ms", "10"]],
  ];
  const rows: Record<string, ConsumerResult[]> = {};
  for (let r = 0; r < runs; r++) {
    for (const [name, extra] of variants) {
      const { consumer } = await measure(
        ...x00(execs, extra),
        () => generate(tools.execgen, execs),
      );
      (rows[name] ??= []).push(consumer);
      console.error(`d run ${r + 1} ${name}: ${JSON.stringify(consumer)}`);
    }
  }
  console.log(`\n### d. Where X00's CPU goes (median of ${runs} runs, 10,000 execs)\n`);
  console.log("| handler and wake-up | CPU ms / 10,000 events |");
  console.log("| --- | ---: |");
  for (const [name] of variants) {
    const xs = rows[name]!;
    console.log(`| ${name} | ${median(xs.map((x) => x.cpu_ms * 10000 / x.records)).toFixed(0)} |`);
  }
  return rows;
}

/** Background exec load until the returned function is called. */
function backgroundLoad(execgen: string, parallel: number): () => Promise<void> {
  const children = Array.from(
    { length: parallel },
    () => new Deno.Command(execgen, { args: ["100000000"], stdout: "null" }).spawn(),
  );
  return async () => {
    for (const ch of children) ch.kill("SIGKILL");
    await Promise.all(children.map((ch) => ch.status));
  };
}

async function benchC(tools: { execgen: string }, runs: number) {
  const starts: { first_event_ms: number; attached_line_ms: number; attached_in_ms: number }[] = [];
  for (let r = 0; r < runs; r++) {
    const stopLoad = backgroundLoad(tools.execgen, 1);
    await sleep(200);
    const t0 = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}mod.ts`, "audit", "--format", "json", "--duration", "2s"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let attachedLine = 0;
    let attachedIn = NaN;
    const errDone = (async () => {
      const lines = lineReader(child.stderr);
      for (let l = await lines.next(); l !== undefined; l = await lines.next()) {
        const m = /attached in (\d+) ms/.exec(l);
        if (m) {
          attachedLine = performance.now() - t0;
          attachedIn = Number(m[1]);
        }
      }
    })();
    const out = lineReader(child.stdout);
    await out.next();
    const first = performance.now() - t0;
    while (await out.next() !== undefined) { /* drain */ }
    await Promise.all([child.status, errDone]);
    await stopLoad();
    starts.push({
      first_event_ms: first,
      attached_line_ms: attachedLine,
      attached_in_ms: attachedIn,
    });
    console.error(`c start run ${r + 1}: ${JSON.stringify(starts.at(-1))}`);
  }

  // Peak memory: 10 s under exec load from every core.
  const stopLoad = backgroundLoad(tools.execgen, navigator.hardwareConcurrency);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}mod.ts`, "audit", "--format", "json", "--duration", "10s"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let events = 0;
  let summary: { lost_events?: Record<string, number> } = {};
  const outDone = (async () => {
    const lines = lineReader(child.stdout);
    for (let l = await lines.next(); l !== undefined; l = await lines.next()) {
      events++;
      if (l.startsWith('{"type":"summary"')) summary = JSON.parse(l);
    }
  })();
  const t0 = performance.now();
  let status = "";
  while (performance.now() - t0 < 9700) {
    await sleep(100);
    try {
      status = await Deno.readTextFile(`/proc/${child.pid}/status`);
    } catch {
      break;
    }
  }
  await Promise.all([child.status, outDone]);
  await stopLoad();
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s*(\\d+) kB`, "m").exec(status)?.[1]);
  const memory = {
    vm_hwm_mb: kb("VmHWM") / 1024,
    vm_rss_mb: kb("VmRSS") / 1024,
    events: events - 1,
    lost_events: summary.lost_events,
  };
  const s = {
    first_event_ms: median(starts.map((x) => x.first_event_ms)),
    first_event_max_ms: Math.max(...starts.map((x) => x.first_event_ms)),
    attached_line_ms: median(starts.map((x) => x.attached_line_ms)),
    attached_in_ms: median(starts.map((x) => x.attached_in_ms)),
  };
  console.log(`\n### c. x00 audit start-up and memory\n`);
  console.log("| measure | value |");
  console.log("| --- | ---: |");
  console.log(
    `| process start -> first JSON line (median of ${runs}; max) | ${
      s.first_event_ms.toFixed(0)
    } ms (max ${s.first_event_max_ms.toFixed(0)} ms) |`,
  );
  console.log(
    `| process start -> "attached" line on stderr | ${s.attached_line_ms.toFixed(0)} ms |`,
  );
  console.log(`| "attached in N ms" (load + attach, both monitors) | ${s.attached_in_ms} ms |`);
  console.log(
    `| VmHWM after 10 s under exec load | ${memory.vm_hwm_mb.toFixed(1)} MB (VmRSS ${
      memory.vm_rss_mb.toFixed(1)
    } MB; ${memory.events} events; lost ${JSON.stringify(memory.lost_events)}) |`,
  );
  return { starts, summary: s, memory };
}

if (import.meta.main) {
  const args = Deno.args;
  const runs = Number(args[args.indexOf("--runs") + 1] || 5) || 5;
  const only = args.includes("--only")
    ? args[args.indexOf("--only") + 1]!.split(",")
    : ["a", "b", "c", "d"];
  if (Deno.uid() !== 0) {
    console.error("exec_consumer_bench: run as root (BPF)");
    Deno.exit(77);
  }
  const dir = await Deno.makeTempDir({ prefix: "x00-bench-" });
  try {
    const tools = await build(dir);
    const info = await machine();
    console.log("## Exec consumer benchmarks\n");
    console.log(
      `Machine: ${info.cpu}, ${info.cores} cores, ${info.memory}; kernel ${info.kernel}; Deno ${info.deno}; ${info.date}`,
    );
    const results: Record<string, unknown> = { machine: info };
    if (only.includes("a")) results.a = await benchA(tools, runs, 10000);
    if (only.includes("b")) results.b = await benchB(tools);
    if (only.includes("c")) results.c = await benchC(tools, runs);
    if (only.includes("d")) results.d = await benchD(tools, Math.min(runs, 3), 10000);
    const raw = `${ROOT}bench/results/raw`;
    await Deno.mkdir(raw, { recursive: true });
    const file = `${raw}/exec_consumer-${info.date.replaceAll(":", "-")}.json`;
    await Deno.writeTextFile(file, JSON.stringify(results, null, 2));
    console.log(`\nraw results: ${file.slice(ROOT.length)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
