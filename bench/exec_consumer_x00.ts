/**
 * X00's side of the exec-consumer benchmark: the same pipeline as `x00 audit --no-access --format json`
 * (ExecMonitor + EventLoop + decodeExecEvent + JsonLinesSink), writing to /dev/null. Prints "ready" once attached,
 * then consumes until it has seen N execs of MATCH, TIMEOUT seconds pass, or SIGINT/SIGTERM; prints one JSON line
 * with records, matched, lost_events and its CPU time (utime + stime of every thread, from /proc/self/stat, in
 * 10 ms ticks) from "ready" to the end.
 *
 *   deno run -A bench/exec_consumer_x00.ts [--count N] [--timeout S] [--match PATH] [--ring-bytes B]
 *       [--batch-ms MS | --timer-ms MS] [--handler full|decode|count]
 *   deno run -A bench/exec_consumer_x00.ts --idle WALL_MS     the baseline: an idle Deno process, same measure
 *
 * The defaults are what `x00 audit` does. The other options are experiments that show where the time goes
 * (bench/RESULTS.md): `--batch-ms` waits MS after each epoll wake-up before consuming, so one wake-up drains many
 * records; `--timer-ms` drains every MS without epoll; `--handler decode` skips the sink, `--handler count` also
 * skips decoding (it only compares the filename bytes).
 *
 * @module
 */
import { close, epollAddReadable, epollCreate, epollWait } from "../ffi/libc.ts";
import { decodeExecEvent } from "../src/events/exec_event.ts";
import { JsonLinesSink } from "../src/events/sink.ts";
import { EventLoop } from "../src/protect/event_loop.ts";
import { ExecMonitor } from "../src/protect/exec_monitor.ts";

/** Clock ticks per second of /proc/PID/stat times (sysconf(_SC_CLK_TCK)); 100 on every Linux build in use. */
async function clockTicks(): Promise<number> {
  const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output();
  return Number(new TextDecoder().decode(out.stdout).trim()) || 100;
}

/** CPU time of this process (all threads), in clock ticks. */
function cpuTicks(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

async function idle(wallMs: number): Promise<void> {
  const hz = await clockTicks();
  const cpu0 = cpuTicks();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, wallMs));
  const cpuMs = (cpuTicks() - cpu0) * 1000 / hz;
  console.log(JSON.stringify({
    consumer: "deno-idle",
    cpu_ms: cpuMs,
    wall_ms: Math.round(performance.now() - t0),
  }));
}

/** Options of {@linkcode consume}. */
interface ConsumeOptions {
  count: number;
  timeoutS: number;
  match: string;
  ringBytes?: number;
  batchMs: number;
  timerMs: number;
  handler: "full" | "decode" | "count";
}

const FILENAME = 72; // offsetof(struct x00_exec_event, filename)

async function consume(o: ConsumeOptions): Promise<void> {
  const hz = await clockTicks();
  const devNull = Deno.openSync("/dev/null", { write: true });
  const sink = new JsonLinesSink(devNull);
  const monitor = await ExecMonitor.start({ ringBufferBytes: o.ringBytes });
  const loop = new EventLoop();
  const stop = new AbortController();
  let records = 0;
  let matched = 0;
  const matchBytes = new TextEncoder().encode(o.match + "\0");
  const isMatch = (data: Uint8Array) =>
    data[16] === 1 && matchBytes.every((b, i) => data[FILENAME + i] === b); // kind == X00_PROC_EXEC
  loop.add(monitor.object.map("events"), (data) => {
    records++;
    let hit: boolean;
    if (o.handler === "count") {
      hit = isMatch(data);
    } else {
      const e = decodeExecEvent(data);
      if (o.handler === "full") sink.write(e);
      hit = e.type === "exec" && e.filename === o.match;
    }
    if (hit && ++matched >= o.count) stop.abort();
  });
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const timer = setTimeout(onSignal, o.timeoutS * 1000);
  try {
    const cpu0 = cpuTicks();
    const t0 = performance.now();
    console.log("ready");
    if (o.batchMs > 0) await batched(monitor, loop, stop.signal, sink, o.batchMs);
    else if (o.timerMs > 0) await timed(loop, stop.signal, sink, o.timerMs);
    else await loop.run({ signal: stop.signal, onTick: () => sink.flush(), tickMs: 250 });
    sink.flush();
    const lost = monitor.lostEvents();
    const cpuMs = (cpuTicks() - cpu0) * 1000 / hz;
    console.log(JSON.stringify({
      consumer: [
        "x00",
        o.batchMs > 0 ? `batch-${o.batchMs}ms` : o.timerMs > 0 ? `timer-${o.timerMs}ms` : "",
        o.handler === "full" ? "" : o.handler,
      ].filter(Boolean).join("-"),
      records,
      matched,
      lost_events: Number(lost),
      cpu_ms: cpuMs,
      wall_ms: Math.round(performance.now() - t0),
    }));
  } finally {
    clearTimeout(timer);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    loop.free();
    monitor.close();
    devNull.close();
  }
}

/** The experiment: wait for the ring buffer's epoll descriptor, then `batchMs`, then consume everything. */
async function batched(
  monitor: ExecMonitor,
  loop: EventLoop,
  signal: AbortSignal,
  sink: JsonLinesSink,
  batchMs: number,
): Promise<void> {
  // An epoll descriptor of its own over the same map; records are consumed by `loop`.
  const waiter = epollCreate();
  try {
    epollAddReadable(waiter, monitor.object.map("events").fd);
    while (!signal.aborted) {
      if (await epollWait(waiter, 100) > 0) {
        await new Promise((resolve) => setTimeout(resolve, batchMs));
      }
      loop.drain();
      sink.flush();
    }
    loop.drain();
  } finally {
    close(waiter);
  }
}

/** The other experiment: no epoll at all, drain every `timerMs`. */
async function timed(
  loop: EventLoop,
  signal: AbortSignal,
  sink: JsonLinesSink,
  timerMs: number,
): Promise<void> {
  while (!signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, timerMs));
    loop.drain();
    sink.flush();
  }
}

/** `--name value` pairs of argv. */
function flags(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!;
    const value = argv[i + 1];
    if (!name.startsWith("--") || value === undefined) {
      throw new Error(`Cannot parse arguments as '${name}' is not '--name value'`);
    }
    out.set(name.slice(2), value);
  }
  return out;
}

if (import.meta.main) {
  const args = flags(Deno.args);
  const idleMs = args.get("idle");
  if (idleMs !== undefined) {
    await idle(Number(idleMs));
  } else {
    const ring = args.get("ring-bytes");
    await consume({
      count: Number(args.get("count") ?? 10000),
      timeoutS: Number(args.get("timeout") ?? 60),
      match: args.get("match") ?? "/bin/true",
      ringBytes: ring ? Number(ring) : undefined,
      batchMs: Number(args.get("batch-ms") ?? 0),
      timerMs: Number(args.get("timer-ms") ?? 0),
      handler: (args.get("handler") ?? "full") as ConsumeOptions["handler"],
    });
  }
}
