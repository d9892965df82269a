/**
 * Helpers for the VM tests: start `x00 run` with a generated policy around the `holder` helper, collect its audit
 * events, and run the `attack` helper as an unrelated root process.
 *
 * @module
 */

/** True inside the test VM (set by tests/vm/init.sh). */
export const IN_VM = Deno.env.get("X00_VM") === "1";

/** Why VM tests are skipped elsewhere. */
export const VM_ONLY = "needs the BPF-LSM kernel of the VM (scripts/vm_test.sh)";

const ROOT = new URL("../../", import.meta.url).pathname;

/** argv that runs the x00 CLI from source (no type check: the host already checked). */
export function x00Argv(...args: string[]): string[] {
  return ["run", "--allow-all", "--no-check", "--cached-only", `${ROOT}mod.ts`, ...args];
}

/** A running protected workload. */
export interface Protected {
  /** x00's pid. */
  x00Pid: number;
  /** The holder's pid, the address and length of its secret buffer, its memfd number, its forked child. */
  pid: number;
  addr: number;
  len: number;
  fd: number;
  child: number;
  selfEnviron: boolean;
  selfMem: boolean;
  auditFile: string;
  secret: string;
  process: Deno.ChildProcess;
  /** Audit events written so far. */
  events(): Record<string, unknown>[];
  /** Stops x00 and the workload; returns x00's stdout+stderr text after READY and its exit code. */
  stop(): Promise<{ code: number; output: string }>;
}

/** Options of {@linkcode startProtected}. */
export interface StartOptions {
  mode: "enforce" | "audit";
  fork?: boolean;
  flags?: Partial<Record<"block_environ_read" | "block_mem_read" | "block_ptrace", boolean>>;
  /** More lines of the `policy:` section, e.g. `foreign_bpf: refuse_tracing`. */
  policyLines?: string[];
  /** More top-level YAML, e.g. a `workload:` section. */
  extraYaml?: string;
}

/** A random secret that exists nowhere but in memory. */
export function randomSecret(): string {
  return `x00-secret-${crypto.randomUUID()}`;
}

/** Starts `x00 run` around `holder` with a secret from X00's own environment (so it is never on disk). */
export async function startProtected(options: StartOptions): Promise<Protected> {
  const dir = await Deno.makeTempDir({ prefix: "x00-vm-" });
  // The workload starts in this directory, possibly as another user (workload.user): it must be able to enter.
  await Deno.chmod(dir, 0o711);
  const auditFile = `${dir}/audit.jsonl`;
  const secret = randomSecret();
  const flags = Object.entries(options.flags ?? {}).map(([k, v]) => `  ${k}: ${v}\n`).join("") +
    (options.policyLines ?? []).map((l) => `  ${l}\n`).join("");
  // The same secret twice: as an environment variable and as a sealed memfd.
  await Deno.writeTextFile(
    `${dir}/policy.yaml`,
    `policy:\n  mode: ${options.mode}\n${flags}` +
      `secrets:\n` +
      `  - name: db\n    source: { type: env, var: X00_TEST_SECRET }\n    delivery: { env: DB_PASSWORD }\n` +
      `  - name: db-file\n    source: { type: env, var: X00_TEST_SECRET }\n    delivery: { file: DB_PASSWORD_FILE }\n` +
      `audit:\n  output: ${auditFile}\n  format: json\n` + (options.extraYaml ?? ""),
  );
  const env: Record<string, string> = {
    X00_TEST_SECRET: secret,
    SECRET_ENV: "DB_PASSWORD",
    SECRET_FILE_VAR: "DB_PASSWORD_FILE",
  };
  const process = new Deno.Command("deno", {
    args: x00Argv(
      "run",
      "--policy",
      `${dir}/policy.yaml`,
      "--",
      "holder",
      ...(options.fork ? ["--fork"] : []),
    ),
    env,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = readLines(process.stdout);
  // x00's stderr is also kept in the run's directory, for post-mortems of a failed test.
  const [errForTest, errForFile] = process.stderr.tee();
  const err = readText(errForTest);
  const errFile = Deno.openSync(`${dir}/x00.stderr`, { write: true, create: true });
  errForFile.pipeTo(errFile.writable).catch(() => {});
  // READY within 120 s (software emulation is slow), whether or not x00 prints anything meanwhile.
  const readyLine = (async () => {
    for await (const line of out.lines) if (line.startsWith("READY ")) return line;
    return undefined;
  })();
  let readyTimer: ReturnType<typeof setTimeout> | undefined;
  const ready = await Promise.race([
    readyLine,
    new Promise<undefined>((r) => readyTimer = setTimeout(() => r(undefined), 120_000)),
  ]);
  clearTimeout(readyTimer);
  if (!ready) {
    const listing = await psListing(process.pid);
    try {
      process.kill("SIGKILL");
    } catch {
      // already gone
    }
    const status = await process.status;
    throw new Error(
      `holder never became ready (x00 exit ${status.code}): ${await err}\n${listing}`,
    );
  }
  const field = (k: string) => Number(new RegExp(`${k}=(-?\\d+)`).exec(ready!)?.[1]);
  return {
    x00Pid: process.pid,
    pid: field("pid"),
    addr: field("addr"),
    len: field("len"),
    fd: field("fd"),
    child: field("child"),
    selfEnviron: field("self_environ") === 1,
    selfMem: field("self_mem") === 1,
    auditFile,
    secret,
    process,
    events: () => readEvents(auditFile),
    async stop() {
      // The forked grandchild shares x00's stdout; it must go too, or the pipe never closes.
      const child = field("child");
      if (child > 0) {
        try {
          Deno.kill(child, "SIGKILL");
        } catch {
          // already gone
        }
      }
      try {
        process.kill("SIGTERM");
      } catch {
        // already gone
      }
      // x00 forwards SIGTERM and exits with the workload. If that does not happen within 30 s, say what is
      // still running (for the post-mortem), then kill x00 and the workload so the suite goes on.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        process.status.then(() => false),
        new Promise<boolean>((r) => timer = setTimeout(() => r(true), 30_000)),
      ]);
      clearTimeout(timer);
      let diagnosis = "";
      if (timedOut) {
        diagnosis = `x00 did not exit 30 s after SIGTERM:\n${await psListing(
          process.pid,
          field("pid"),
        )}`;
        for (const pid of [process.pid, field("pid")]) {
          try {
            Deno.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      }
      const status = await process.status;
      // x00 must never leave its workload running without protection: if the workload outlived x00, that
      // is a failure of x00 (and the workload is killed here so the suite goes on).
      if (!diagnosis && workloadAlive(field("pid"))) {
        diagnosis = `x00 exited (code ${status.code}, signal ${status.signal}) but its workload ` +
          `${field("pid")} still runs:\n${await psListing(field("pid"))}`;
        try {
          Deno.kill(field("pid"), "SIGKILL");
        } catch {
          // already gone
        }
      }
      const bounded = (p: Promise<string>, what: string) => {
        let t: ReturnType<typeof setTimeout> | undefined;
        return Promise.race([
          p,
          new Promise<string>((r) => t = setTimeout(() => r(`(${what} still open)`), 10_000)),
        ])
          .finally(() => clearTimeout(t));
      };
      const rest = await bounded(out.rest(), "stdout");
      const errText = await bounded(err, "stderr");
      if (diagnosis) throw new Error(`${diagnosis}\nx00 stderr:\n${errText}`);
      return { code: status.code, output: rest + errText };
    },
  };
}

/** Whether `pid` is alive and not a zombie. */
function workloadAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** `ps` of the guest and the kernel stack of every thread of `pids`, for post-mortems. */
async function psListing(...pids: number[]): Promise<string> {
  const o = await new Deno.Command("ps", { args: ["-o", "pid,ppid,stat,args"], stdout: "piped" })
    .output();
  const lines = [
    new TextDecoder().decode(o.stdout).split("\n").filter((l) => !l.includes("[")).join("\n"),
  ];
  for (const pid of pids) {
    try {
      for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
        const base = `/proc/${pid}/task/${t.name}`;
        const state = /^State:\s*(.*)$/m.exec(Deno.readTextFileSync(`${base}/status`))?.[1];
        const stack = Deno.readTextFileSync(`${base}/stack`).trim().split("\n").slice(0, 6);
        const comm = Deno.readTextFileSync(`${base}/comm`).trim();
        lines.push(`${pid}/${t.name} ${state} ${comm}: ${stack.join(" < ")}`);
      }
    } catch (e) {
      lines.push(`${pid}: ${e instanceof Error ? e.message : e}`);
    }
  }
  return lines.join("\n");
}

/** Parses a JSON Lines audit file (missing file: no events). */
export function readEvents(file: string): Record<string, unknown>[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    return [];
  }
  // Only complete lines: x00 may be writing the last one right now.
  const complete = text.slice(0, text.lastIndexOf("\n") + 1);
  return complete.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/** Runs `attack ARGS` as an unrelated root process; returns its one-line verdict. */
export async function attack(...args: string[]): Promise<{ ok: boolean; text: string }> {
  const child = new Deno.Command("attack", { args, stdout: "piped", stderr: "piped" }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, 30_000);
  const r = await child.output();
  clearTimeout(timer);
  const line = new TextDecoder().decode(r.stdout).trim() ||
    `TIMEOUT or no output (signal ${r.signal})`;
  return { ok: line.startsWith("OK"), text: line };
}

/** Anything whose audit events can be read back: a protected run, an agent. */
export interface EventSource {
  events(): Record<string, unknown>[];
}

/**
 * Waits until `pred` holds for some audit event, or times out. Access events travel through the ring buffer and
 * X00's consumer, so they land after the attack that caused them returns: poll, never read once.
 */
export async function waitForEvent(
  p: EventSource,
  pred: (e: Record<string, unknown>) => boolean,
  timeoutMs = 10_000,
): Promise<Record<string, unknown> | undefined> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const hit = p.events().find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** An access event about `resource` against `pid`. */
export function accessBy(resource: string, pid?: number) {
  return (e: Record<string, unknown>) =>
    e.type === "access" && e.resource === resource &&
    (pid === undefined || (e.target as { pid?: number } | undefined)?.pid === pid);
}

function readLines(stream: ReadableStream<Uint8Array>) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let collected = "";
  return {
    lines: (async function* () {
      while (true) {
        const nl = buf.indexOf("\n");
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          yield line;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
      }
    })(),
    async rest(): Promise<string> {
      collected = buf;
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        collected += value;
      }
      return collected;
    },
  };
}

async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}
