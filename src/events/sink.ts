/**
 * Output sinks for audit events: JSON Lines (one object per line, the documented schema) and a readable table
 * for terminals. Sinks buffer and write on `flush()`, so a burst of events costs one write.
 *
 * @module
 */
import type { AccessEvent, AuditEvent } from "./types.ts";

/** Where events go. */
export interface EventSink {
  write(event: AuditEvent): void;
  /** Writes buffered lines out. */
  flush(): void;
  /** Writes free text (summaries) after flushing. */
  writeText(text: string): void;
}

/** A synchronous byte writer (stdout or a file). */
export interface SyncWriter {
  writeSync(p: Uint8Array): number;
}

const encoder = new TextEncoder();

function writeAll(w: SyncWriter, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += w.writeSync(data.subarray(off));
}

/** Base: buffers lines, writes them on flush. */
abstract class BufferedSink implements EventSink {
  #lines: string[] = [];
  readonly #out: SyncWriter;
  constructor(out: SyncWriter) {
    this.#out = out;
  }
  abstract format(event: AuditEvent): string;
  write(event: AuditEvent): void {
    this.#lines.push(this.format(event));
    if (this.#lines.length >= 256) this.flush();
  }
  flush(): void {
    if (this.#lines.length === 0) return;
    const text = this.#lines.join("\n") + "\n";
    this.#lines = [];
    writeAll(this.#out, encoder.encode(text));
  }
  writeText(text: string): void {
    this.flush();
    writeAll(this.#out, encoder.encode(text.endsWith("\n") ? text : text + "\n"));
  }
}

/** JSON Lines: one event object per line. */
export class JsonLinesSink extends BufferedSink {
  format(event: AuditEvent): string {
    return JSON.stringify(event);
  }
}

function who(p: { pid: number; comm: string } | undefined): string {
  return p ? `${p.comm}[${p.pid}]` : "-";
}

/** Describes an access event in a few words. */
export function describeAccess(e: AccessEvent): string {
  const p = e.bpf_program;
  const target = e.resource === "secret_file"
    ? "a protected secret file"
    : e.resource === "bpf_load" && p
    ? `load of a ${p.sleepable ? "sleepable " : ""}${p.type}${
      p.attach_type ? `/${p.attach_type}` : ""
    } BPF program '${p.name}'`
    : e.resource === "net_listen"
    ? `listen on ${e.address_family ?? "a network socket"}`
    : `${who(e.target)} ${e.resource}`;
  const err = e.errno ? ` (${e.errno})` : "";
  return `${who(e.accessor)} uid=${e.accessor.uid} -> ${target}: ${e.action}${err}`;
}

/** A readable, aligned line per event for terminals. */
export class TableSink extends BufferedSink {
  #header = false;
  override write(event: AuditEvent): void {
    if (!this.#header) {
      this.#header = true;
      super.writeText(
        `${"TIME".padEnd(15)} ${"TYPE".padEnd(8)} ${"PID".padStart(7)} ${
          "COMM".padEnd(16)
        } DETAILS`,
      );
    }
    super.write(event);
  }
  format(e: AuditEvent): string {
    const time = e.time.slice(11, 26);
    const cols = (pid: number | string, comm: string, details: string) =>
      `${time} ${e.type.padEnd(8)} ${String(pid).padStart(7)} ${comm.padEnd(16)} ${details}`;
    switch (e.type) {
      case "exec":
        return cols(
          e.process.pid,
          e.process.comm,
          `ppid=${e.process.ppid} uid=${e.process.uid} ${e.filename} ${
            JSON.stringify(e.args.slice(1)).slice(1, -1)
          }${e.args_truncated ? " ..." : ""}`,
        );
      case "fork":
        return cols(e.process.pid, e.process.comm, `child=${e.child_pid}`);
      case "exit":
        return cols(e.process.pid, e.process.comm, `exit_code=${e.exit_code} signal=${e.signal}`);
      case "access":
        return cols(e.accessor.pid, e.accessor.comm, describeAccess(e) + ` [${e.hook}]`);
      case "lost_events":
        return cols("-", "-", `${e.count} ${e.source} events lost (ring buffer full)`);
      case "protection":
        return cols(
          e.pid,
          "x00",
          `protection ${e.state} (${e.mode}, ${e.mechanism})${e.reason ? ": " + e.reason : ""}`,
        );
      case "secret_delivered":
        return cols(e.pid, "x00", `secret ${e.secret} delivered as ${e.delivery} ${e.var}`);
      case "client":
        return cols(
          e.pid ?? "-",
          "x00",
          `client ${e.action}${e.client ? ` as ${e.client}` : ""} uid=${e.uid ?? "-"} gid=${
            e.gid ?? "-"
          }${e.reason ? `: ${e.reason}` : ""}`,
        );
    }
  }
}
