/**
 * `x00 audit`: zero-config host audit. Streams every exec and every cross-process access attempt (environ, mem,
 * ptrace, process_vm_readv, pidfd_getfd) until a duration passes or Ctrl-C, then prints a summary.
 *
 * @module
 */
import { getpid } from "../../ffi/libc.ts";
import { UsageError } from "../errors.ts";
import { decodeAccessEvent, procInfo } from "../events/access_event.ts";
import { decodeExecEvent } from "../events/exec_event.ts";
import { type EventSink, JsonLinesSink, type SyncWriter, TableSink } from "../events/sink.ts";
import { Summary } from "../events/summary.ts";
import { nowRfc3339 } from "../events/time.ts";
import type { AuditEvent } from "../events/types.ts";
import { AccessMonitor } from "../protect/access_monitor.ts";
import { EventLoop } from "../protect/event_loop.ts";
import { ExecMonitor } from "../protect/exec_monitor.ts";
import { requireBpf } from "./privileges.ts";

/** Options of {@linkcode runAudit} (already parsed and validated by the CLI). */
export interface AuditOptions {
  /** Stop after this many ms; undefined = until Ctrl-C / SIGTERM. */
  durationMs?: number;
  /** Output format; default: table on a terminal, json otherwise. */
  format?: "table" | "json";
  /** Append events to this file instead of stdout. */
  output?: string;
  exec: boolean;
  access: boolean;
  /** Only events whose process (exec) or accessor/target (access) has this comm. */
  comm?: string;
  /** Only events of this cgroup v2 id. */
  cgroup?: bigint;
  /** Also track forks and exits. */
  forkExit?: boolean;
  /** Stops the audit (tests); SIGINT/SIGTERM also stop it. */
  signal?: AbortSignal;
  /** Status lines (to stderr by default). */
  log?: (line: string) => void;
}

function openOutput(path: string): Deno.FsFile {
  try {
    return Deno.openSync(path, { write: true, create: true, append: true });
  } catch (e) {
    const reason = e instanceof Error ? e.message.replace(/:.*$/, "") : String(e);
    throw new UsageError(`Cannot write --output '${path}': ${reason}`, { cause: e });
  }
}

function matches(e: AuditEvent, o: AuditOptions): boolean {
  if (o.comm !== undefined) {
    if (e.type === "exec" || e.type === "fork" || e.type === "exit") {
      const binary = e.type === "exec" ? e.filename.split("/").pop() : undefined;
      if (e.process.comm !== o.comm && binary !== o.comm) return false;
    } else if (e.type === "access") {
      if (e.accessor.comm !== o.comm && e.target?.comm !== o.comm) return false;
    }
  }
  if (o.cgroup !== undefined && e.type === "access") {
    const id = o.cgroup.toString();
    if (e.accessor.cgroup_id !== id && e.target?.cgroup_id !== id) return false;
  }
  return true;
}

/** Runs the audit; returns the exit code. */
export async function runAudit(options: AuditOptions): Promise<number> {
  const log = options.log ?? ((l: string) => console.error(l));
  if (!options.exec && !options.access) {
    throw new UsageError("Nothing to audit: --no-exec and --no-access");
  }
  const file = options.output ? openOutput(options.output) : undefined;
  requireBpf("audit");

  const out: SyncWriter = file ?? Deno.stdout;
  const format = options.format ?? (!file && Deno.stdout.isTerminal() ? "table" : "json");
  const sink: EventSink = format === "table" ? new TableSink(out) : new JsonLinesSink(out);
  const summary = new Summary();
  const emit = (e: AuditEvent) => {
    if (!matches(e, options)) return;
    summary.add(e);
    sink.write(e);
  };

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  options.signal?.addEventListener("abort", onSignal, { once: true });
  const timer = options.durationMs !== undefined
    ? setTimeout(onSignal, options.durationMs)
    : undefined;

  const loop = new EventLoop();
  let exec: ExecMonitor | undefined;
  let access: AccessMonitor | undefined;
  const lost = { exec: 0n, access: 0n };
  try {
    const t0 = performance.now();
    if (options.exec) {
      exec = await ExecMonitor.start({ forkExit: options.forkExit, cgroupId: options.cgroup });
      loop.add(exec.object.map("events"), (d) => emit(decodeExecEvent(d)));
    }
    if (options.access) {
      access = await AccessMonitor.start({
        enforce: false,
        auditAll: true,
        ignorePid: getpid(),
        allowFallback: true,
      });
      loop.add(
        access.object.map("access_events"),
        (d) => emit(decodeAccessEvent(d, { mode: "audit", enrich: procInfo })),
      );
    }
    const parts = [
      exec ? "exec monitor (tp_btf)" : undefined,
      access
        ? `access monitor (${
          access.mechanism === "lsm"
            ? "BPF-LSM"
            : "syscall tracepoints; observe only: " + access.fallbackReason
        })`
        : undefined,
    ].filter(Boolean);
    log(`x00 audit: attached in ${Math.round(performance.now() - t0)} ms: ${parts.join(", ")}`);

    const checkLost = () => {
      for (const [source, mon] of [["exec", exec], ["access", access]] as const) {
        if (!mon) continue;
        const n = mon.lostEvents();
        if (n > lost[source]) {
          lost[source] = n;
          emit({ type: "lost_events", time: nowRfc3339(), source, count: Number(n) });
        }
      }
      sink.flush();
    };
    await loop.run({ signal: stop.signal, onTick: checkLost, tickMs: 250 });
    sink.flush();
    if (format === "json") sink.writeText(JSON.stringify(summary.data()));
    else sink.writeText(summary.text());
    return 0;
  } finally {
    clearTimeout(timer);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    loop.free();
    await Promise.all([exec?.closeAsync(), access?.closeAsync()]);
    file?.close();
  }
}
