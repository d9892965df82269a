/**
 * Starts the workload and supervises it: forwards signals, passes stdio through untouched, reaps it (and, as PID
 * 1, its orphans), and turns its end into an exit code (its own, or 128+N for signal N).
 *
 * @module
 */
import {
  close,
  killAndReap,
  LibcError,
  pidfdOpen,
  pidfdSendSignal,
  readSignalFd,
  reapChildrenExcept,
  reapPidfd,
  signalFd,
  SpawnError,
  spawnProcess,
  strerror,
  waitReadable,
} from "../../ffi/libc.ts";
import { inspectorSignalBlocked, SIGUSR1 } from "../hardening/inspector_signal.ts";

import { spawnWithCredentials, type WorkloadCredentials } from "./credentials.ts";
import { resolveProgram } from "./program.ts";

/** errno values posix_spawn and poll report. */
const EPERM = 1;
const ENOENT = 2;
const EINTR = 4;
const EACCES = 13;

/**
 * Longest single wait on the SIGUSR1 signalfd, in ms: a pending SIGUSR1 ends the wait at once, so this only bounds
 * how long the descriptor outlives {@linkcode forwardSignals}'s stop function.
 */
const SIGUSR1_WAIT_MS = 250;

/** Signals forwarded to the workload. */
export const FORWARDED_SIGNALS: Deno.Signal[] = [
  "SIGTERM",
  "SIGINT",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
];

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** The number of a signal name (0 when unknown). */
export function signalNumber(signal: string): number {
  return SIGNAL_NUMBERS[signal] ?? 0;
}

/** What to start. */
export interface WorkloadSpec {
  cmd: string;
  args: string[];
  env: Record<string, string>;
  /** Identity and capabilities; absent: X00's own (tests only — `x00 run` always passes them). */
  credentials?: WorkloadCredentials;
}

/** The exit code for a finished workload: its code, or 128 + the signal number. */
export function exitCodeOf(status: WorkloadStatus): number {
  if (status.signal) return 128 + signalNumber(status.signal);
  return status.code;
}

/** How a workload ended, in the shape of `Deno.CommandStatus`: `code` is 128 + N when signal N killed it. */
export type WorkloadStatus = Deno.CommandStatus;

/** The name of a signal number (undefined for realtime and unknown signals). */
function signalName(signo: number): Deno.Signal | undefined {
  for (const [name, n] of Object.entries(SIGNAL_NUMBERS)) {
    if (n === signo) return name as Deno.Signal;
  }
  return undefined;
}

/** How long one wait for the workload's exit lasts before it is renewed, in ms (an exit ends it at once). */
const EXIT_WAIT_MS = 1000;

/** A running workload. */
export class Workload {
  /** The workload's pid (in X00's pid namespace). */
  readonly pid: number;
  /** Resolves when it has exited (and been reaped). */
  readonly status: Promise<WorkloadStatus>;
  readonly #pidfd: number;
  #done = false;

  private constructor(pid: number, pidfd: number) {
    this.pid = pid;
    this.#pidfd = pidfd;
    this.status = this.#wait();
  }

  async #wait(): Promise<WorkloadStatus> {
    try {
      while (true) {
        let exit;
        try {
          if (await waitReadable(this.#pidfd, EXIT_WAIT_MS)) exit = reapPidfd(this.#pidfd);
        } catch (e) {
          if (!(e instanceof LibcError) || e.errno !== EINTR) throw e;
        }
        if (exit) {
          this.#done = true;
          const signal = exit.signal ? signalName(exit.signal) ?? null : null;
          return { success: exit.code === 0 && !exit.signal, code: exit.code, signal };
        }
      }
    } finally {
      close(this.#pidfd);
    }
  }

  /**
   * Starts `spec` with exactly `spec.env` as its environment, X00's stdio and working directory, an empty signal
   * mask (X00 keeps SIGUSR1 blocked) and SIGPIPE at its default (Deno ignores it). posix_spawn(3) through FFI,
   * not `Deno.Command`: the environment, secrets included, is copied only into buffers that are zeroed once the
   * workload runs, and X00 does not load Deno's streams for it (~5-7 ms of start-up).
   *
   * @example Usage
   * ```ts ignore
   * const w = Workload.spawn({ cmd: "/bin/true", args: [], env: {} });
   * console.log(exitCodeOf(await w.status));
   * ```
   */
  static spawn(spec: WorkloadSpec): Workload {
    const program = resolveProgram(spec.cmd, spec.env.PATH);
    if (program === undefined) {
      throw new Deno.errors.NotFound(
        `Failed to spawn '${spec.cmd}': not found in the workload's PATH`,
      );
    }
    const env = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
    const fork = () => {
      try {
        return spawnProcess(program, [spec.cmd, ...spec.args], env, [SIGNAL_NUMBERS.SIGPIPE!]);
      } catch (e) {
        if (!(e instanceof SpawnError)) throw e;
        const message = `Failed to spawn '${spec.cmd}': ${strerror(e.errno)}`;
        if (e.errno === ENOENT) throw new Deno.errors.NotFound(message, { cause: e });
        if (e.errno === EACCES || e.errno === EPERM) {
          throw new Deno.errors.PermissionDenied(message, { cause: e });
        }
        throw new Error(message, { cause: e });
      }
    };
    const pid = spec.credentials ? spawnWithCredentials(spec.credentials, fork) : fork();
    // Not yet reaped, so the pid cannot have been reused: the pidfd is this child's. A workload X00 cannot
    // follow (no descriptor left) is not left running unsupervised.
    let pidfd: number;
    try {
      pidfd = pidfdOpen(pid);
    } catch (e) {
      killAndReap(pid);
      throw new Error(
        `Cannot follow '${spec.cmd}' (pid ${pid}), killed it: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    return new Workload(pid, pidfd);
  }

  /** Whether it has exited. */
  get exited(): boolean {
    return this.#done;
  }

  /** Sends a signal (through its pidfd: never to a process that reused its pid); ignored once it has exited. */
  kill(signal: Deno.Signal): void {
    if (this.#done) return;
    try {
      pidfdSendSignal(this.#pidfd, signalNumber(signal));
    } catch {
      // exited and reaped meanwhile (the descriptor is closed)
    }
  }

  /** Sends `signal`, waits up to `graceMs`, then SIGKILL. Resolves with its status. */
  async stop(signal: Deno.Signal, graceMs: number): Promise<WorkloadStatus> {
    this.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), graceMs));
    const first = await Promise.race([this.status, timeout]);
    clearTimeout(timer);
    if (first === "timeout") this.kill("SIGKILL");
    return await this.status;
  }
}

/**
 * When X00 is PID 1 (a container entrypoint), orphaned descendants of the workload are re-parented to it and must
 * be reaped, or they stay zombies. Returns a function that stops the reaper; a no-op elsewhere.
 */
export function reapOrphansIfInit(
  current: () => Workload | undefined,
  intervalMs = 500,
): () => void {
  if (Deno.pid !== 1) return () => {};
  const timer = setInterval(() => {
    const w = current();
    reapChildrenExcept(new Set(w && !w.exited ? [w.pid] : []));
  }, intervalMs);
  return () => clearInterval(timer);
}

/**
 * Forwards {@linkcode FORWARDED_SIGNALS} (installed before the workload starts, so no signal can kill X00 and
 * orphan an unprotected workload; signals that arrive before there is a workload go to `beforeStart`) to `target()` until the returned function is called. */
export function forwardSignals(
  target: () => Workload | undefined,
  beforeStart?: (signal: Deno.Signal) => void,
): () => void {
  const deliver = (sig: Deno.Signal) => {
    const w = target();
    if (w) w.kill(sig);
    else beforeStart?.(sig);
  };
  // SIGUSR1 is blocked in every thread of x00 (so that Deno never opens its inspector on it): a listener would
  // never run. It is read from a signalfd instead. Where it is not blocked (x00's modules used in-process), a
  // listener is the only way.
  // A thread of Deno's pool waits on it (poll): a pending SIGUSR1 is forwarded at once, and no timer is needed
  // (the first timer of a Deno process loads Node's timers module, ~10 ms of X00's start-up). The descriptor is
  // closed by the waiting loop itself, after its last wait: never while a wait on it may still be in flight.
  let forwarding = true;
  const usr1 = inspectorSignalBlocked();
  if (usr1) {
    const fd = signalFd([SIGUSR1]);
    void (async () => {
      try {
        while (forwarding) {
          let ready = false;
          try {
            ready = await waitReadable(fd, SIGUSR1_WAIT_MS);
          } catch {
            // EINTR: wait again
          }
          if (ready && forwarding) { for (const _ of readSignalFd(fd)) deliver("SIGUSR1"); }
        }
      } finally {
        close(fd);
      }
    })();
  }
  const handlers = FORWARDED_SIGNALS.filter((sig) => sig !== "SIGUSR1" || !usr1).map((sig) => {
    const h = () => deliver(sig);
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
    forwarding = false;
  };
}
