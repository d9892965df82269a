/**
 * Helpers for the host tests: real BPF on this kernel, as root. Collect decoded ring-buffer records, wait for an
 * event with a timeout, compile small C helpers with gcc once per run, spawn targets and accessors, and count the
 * BPF descriptors this process holds (to prove monitors close everything).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { BpfMap } from "../../ffi/libbpf.ts";
import { EventLoop } from "../../src/protect/event_loop.ts";

/** The repository root. */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** Fails (never skips) when the tests do not run as root: host tests need BPF. */
export function requireRoot(): void {
  assert.equal(Deno.uid(), 0, "host tests load BPF programs: run them as root");
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A unique marker for argv, so a test finds its own process among everything the host runs. */
export function marker(): string {
  return `x00-marker-${crypto.randomUUID().slice(0, 8)}`;
}

/** Options of {@linkcode EventCollector.waitFor}. */
export interface WaitOptions {
  /** Give up after this many ms (default 5000). */
  timeoutMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
}

/** Consumes ring buffers on an {@linkcode EventLoop} and keeps every decoded record. */
export class EventCollector<T> {
  readonly events: T[] = [];
  readonly errors: unknown[] = [];
  readonly #loop = new EventLoop();
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;

  /** Adds a ring buffer map and its decoder (before {@linkcode start}). */
  add(map: BpfMap, decode: (data: Uint8Array) => T): this {
    this.#loop.add(map, (data) => {
      try {
        this.events.push(decode(data));
      } catch (e) {
        this.errors.push(e);
      }
    });
    return this;
  }

  /** Starts consuming. */
  start(): this {
    this.#running = this.#loop.run({ signal: this.#stop.signal, pollMs: 20 });
    return this;
  }

  /** Consumes what is waiting right now. */
  drain(): void {
    this.#loop.drain();
  }

  /** The first event (already seen or still to come) that matches; throws after the timeout. */
  async waitFor(match: (e: T) => boolean, options: WaitOptions = {}): Promise<T> {
    const { timeoutMs = 5000, what = "a matching event" } = options;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      assert.deepEqual(this.errors, [], "records that failed to decode");
      const found = this.events.find(match);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for ${what}; ${this.events.length} events seen, last: ` +
            JSON.stringify(this.events.slice(-5)),
        );
      }
      await sleep(10);
    }
  }

  /** Every event that matches so far. */
  filter(match: (e: T) => boolean): T[] {
    return this.events.filter(match);
  }

  /** Stops consuming and frees the ring buffer. Idempotent. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    this.#running = undefined;
    this.#loop.free();
  }
}

/** Kinds of descriptors that hold BPF objects alive: programs, maps, links, perf events (tracepoint links). */
const BPF_FD = /^anon_inode:(bpf-prog|bpf-map|bpf_link|\[perf_event\]|\[eventpoll\]|bpf_ringbuf)/;

/** Descriptors of this process that refer to BPF objects, by kind. */
export function bpfDescriptors(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
    } catch {
      continue; // closed meanwhile (readDir's own descriptor)
    }
    const kind = BPF_FD.exec(target)?.[1];
    if (kind) out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

let helperDir: string | undefined;
const compiled = new Map<string, Promise<string>>();
let helperCount = 0;

/**
 * Compiles a C program with gcc into a temporary directory (once per test run and source) and returns the path
 * of the executable.
 */
export function compileHelper(source: string, name = "helper"): Promise<string> {
  const key = `${name}\u0000${source}`;
  let p = compiled.get(key);
  if (!p) {
    p = (async () => {
      if (!helperDir) {
        helperDir = Deno.makeTempDirSync({ prefix: "x00-host-helpers-" });
        const dir = helperDir;
        globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
      }
      // One directory per source, so the executable keeps its name (and its comm) exactly.
      const dir = `${helperDir}/${helperCount++}`;
      await Deno.mkdir(dir);
      const exe = `${dir}/${name}`;
      await Deno.writeTextFile(`${exe}.c`, source);
      const cc = await new Deno.Command("gcc", {
        args: ["-O2", "-Wall", "-Werror", "-o", exe, `${exe}.c`],
      }).output();
      assert.equal(cc.code, 0, `gcc ${name}.c failed:\n${new TextDecoder().decode(cc.stderr)}`);
      return exe;
    })();
    compiled.set(key, p);
  }
  return p;
}

/** The attack helper (tests/host/attack.c) compiled for this run. */
export async function attackHelper(): Promise<string> {
  const source = await Deno.readTextFile(new URL("./attack.c", import.meta.url));
  return compileHelper(source, "attack");
}

/** A long-running process to be the target of access attempts. Kill it with {@linkcode stopProcess}. */
export function spawnTarget(): Deno.ChildProcess {
  return new Deno.Command("sleep", {
    args: ["30"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Kills a child (if still running) and reaps it. */
export async function stopProcess(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // already exited
  }
  await child.status;
}

/** Result of {@linkcode runCommand}. */
export interface CommandResult {
  pid: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and returns its pid (which is also the accessor pid of what it does). */
export async function runCommand(
  cmd: string,
  args: string[],
  options: Deno.CommandOptions = {},
): Promise<CommandResult> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...options,
  }).spawn();
  const out = await child.output();
  const text = new TextDecoder();
  return {
    pid: child.pid,
    code: out.code,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
  };
}

/** Arguments of setpriv(1) that run a command as nobody with no capabilities. */
export const AS_NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];

let nobodyDenoDir: string | undefined;

/**
 * A DENO_DIR that nobody can read and write: a copy of root's npm cache (the modules mod.ts imports), made once
 * per run. Root's own cache lives under /root (mode 0700), which nobody cannot enter.
 */
export async function denoDirForNobody(): Promise<string> {
  if (nobodyDenoDir) return nobodyDenoDir;
  const info = await runCommand(Deno.execPath(), ["info", "--json"], { env: { NO_COLOR: "1" } });
  const denoDir: string = JSON.parse(info.stdout).denoDir;
  const dir = Deno.makeTempDirSync({ prefix: "x00-nobody-deno-" });
  const cp = await runCommand("cp", ["-r", `${denoDir}/npm`, `${dir}/npm`]);
  assert.equal(cp.code, 0, cp.stderr);
  const chmod = await runCommand("chmod", ["-R", "a+rwX", dir]);
  assert.equal(chmod.code, 0, chmod.stderr);
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  nobodyDenoDir = dir;
  return dir;
}

let nobodyProject: string | undefined;

/**
 * A copy of the project that nobody can read (mod.ts, deno.json, deno.lock, src/, ffi/, bpf/objects/), made once
 * per run: the clone itself may live under /root (mode 0700, Debian's default), which nobody cannot enter.
 */
export async function projectForNobody(): Promise<string> {
  if (nobodyProject) return nobodyProject;
  const root = new URL("../../", import.meta.url).pathname;
  const dir = Deno.makeTempDirSync({ prefix: "x00-nobody-project-" });
  Deno.mkdirSync(`${dir}/bpf`);
  for (const item of ["mod.ts", "deno.json", "deno.lock", "src", "ffi", "bpf/objects"]) {
    const cp = await runCommand("cp", ["-r", `${root}${item}`, `${dir}/${item}`]);
    assert.equal(cp.code, 0, cp.stderr);
  }
  const chmod = await runCommand("chmod", ["-R", "a+rX", dir]);
  assert.equal(chmod.code, 0, chmod.stderr);
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  nobodyProject = dir;
  return dir;
}

/** The lines of a text, without the empty one after the final newline. */
export function lines(text: string): string[] {
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  return all;
}
