/**
 * Starts the workload and supervises it: forwards signals, passes stdio through untouched, reaps it (and, as PID
 * 1, its orphans), and turns its end into an exit code (its own, or 128+N for signal N).
 *
 * @module
 */
import {
  close,
  readSignalFd,
  reapChildrenExcept,
  signalFd,
  waitReadable,
  withSignalUnblocked,
} from "../../ffi/libc.ts";
import { inspectorSignalBlocked, SIGUSR1 } from "../hardening/inspector_signal.ts";
import { spawnWithCredentials, type WorkloadCredentials } from "./credentials.ts";

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
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGWINCH: 28,
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
export function exitCodeOf(status: Deno.CommandStatus): number {
  if (status.signal) return 128 + signalNumber(status.signal);
  return status.code;
}

/** A running workload. */
export class Workload {
  readonly #child: Deno.ChildProcess;
  /** The workload's pid (in X00's pid namespace). */
  readonly pid: number;
  /** Resolves when it has exited (and been reaped). */
  readonly status: Promise<Deno.CommandStatus>;
  #done = false;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.pid = child.pid;
    this.status = child.status.then((s) => {
      this.#done = true;
      return s;
    });
  }

  /**
   * Starts `spec` with exactly `spec.env` as its environment and X00's stdio.
   *
   * @example Usage
   * ```ts ignore
   * const w = Workload.spawn({ cmd: "/bin/true", args: [], env: {} });
   * console.log(exitCodeOf(await w.status));
   * ```
   */
  static spawn(spec: WorkloadSpec): Workload {
    const command = new Deno.Command(spec.cmd, {
      args: spec.args,
      env: spec.env,
      clearEnv: true,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    });
    // X00 keeps SIGUSR1 blocked (no debugger port); the workload must start with an empty mask.
    const fork = () =>
      inspectorSignalBlocked()
        ? withSignalUnblocked(SIGUSR1, () => command.spawn())
        : command.spawn();
    const child = spec.credentials ? spawnWithCredentials(spec.credentials, fork) : fork();
    return new Workload(child);
  }

  /** Whether it has exited. */
  get exited(): boolean {
    return this.#done;
  }

  /** Sends a signal; ignored once it has exited. */
  kill(signal: Deno.Signal): void {
    if (this.#done) return;
    try {
      this.#child.kill(signal);
    } catch {
      // exited meanwhile
    }
  }

  /** Sends `signal`, waits up to `graceMs`, then SIGKILL. Resolves with its status. */
  async stop(signal: Deno.Signal, graceMs: number): Promise<Deno.CommandStatus> {
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
