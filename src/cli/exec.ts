/**
 * `x00 exec --socket PATH [--name NAME] [--wait DURATION] -- CMD ARGS...`: the unprivileged half of the sidecar
 * form. It connects to `x00 agent` (the kernel protects it at that moment), receives its environment values and
 * sealed memfds, and `execve`s CMD in place: the same process, so its protection and pid carry over and nothing of
 * X00 stays resident. It needs no capability and writes nothing. If the agent is not there within `--wait`, or
 * refuses, CMD never runs: one line, exit 3.
 *
 * @module
 */
import { workloadEnvironment } from "../hardening/deno_settings.ts";
import {
  close,
  execve,
  F_DUPFD,
  F_SETFD,
  fcntl,
  pidfdOpen,
  readToEnd,
  recvWithFds,
  sendWithFds,
  unixConnect,
  withSignalUnblocked,
} from "../../ffi/libc.ts";
import { encode, MAX_RESPONSE_BYTES, parseResponse, PROTOCOL_VERSION } from "../agent/protocol.ts";
import { ExitCode, UsageError, X00Error } from "../errors.ts";
import { SIGUSR1 } from "../hardening/inspector_signal.ts";
import { resolveProgram } from "../workload/program.ts";

/** Where the link references go in CMD (out of the way of stdio and the memfds), as in `x00 run`. */
const LINK_FD_BASE = 100;

/** Options of {@linkcode runExec}. */
export interface ExecOptions {
  socket: string;
  name?: string;
  /** How long to wait for the agent's socket. */
  waitMs: number;
  cmd: string;
  args: string[];
}

/** The agent is not there, or refused: CMD did not run. */
export class AgentUnavailableError extends X00Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, exitCode: ExitCode.NO_ENFORCE });
    this.name = "AgentUnavailableError";
  }
}

/** Resolves CMD like execvp: a path with a slash as is, else the first executable file on PATH. */
export function resolveCommand(
  cmd: string,
  path = Deno.env.get("PATH") ?? "/usr/bin:/bin",
): string {
  const program = resolveProgram(cmd, path);
  if (program === undefined) throw new UsageError(`Cannot run '${cmd}': not found on PATH`);
  return program;
}

/** Connects to the agent, retrying until `waitMs` has passed. */
async function connect(socket: string, waitMs: number): Promise<number> {
  const end = Date.now() + waitMs;
  let last = "";
  while (true) {
    try {
      return unixConnect(socket);
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() >= end) {
      throw new AgentUnavailableError(
        `x00 agent is not reachable at ${socket} after ${waitMs} ms (${last}): not starting the command`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Gets the secrets from the agent and replaces this process with CMD. Returns only by throwing. */
export async function runExec(options: ExecOptions): Promise<never> {
  const path = resolveCommand(options.cmd);
  const fd = await connect(options.socket, options.waitMs);
  let received: number[] = [];
  let header: Uint8Array | undefined;
  try {
    const request = encode(
      options.name === undefined
        ? { v: PROTOCOL_VERSION }
        : { v: PROTOCOL_VERSION, name: options.name },
    );
    // A pidfd of this process (CMD, after the exec) lets the agent restart or signal it on rotation.
    const self = pidfdOpen(Deno.pid);
    sendWithFds(fd, request, [self]);
    close(self);
    const first = recvWithFds(fd, MAX_RESPONSE_BYTES, 64);
    received = first.fds;
    const rest = readToEnd(fd, MAX_RESPONSE_BYTES - first.data.length);
    header = new Uint8Array(first.data.length + rest.length);
    header.set(first.data);
    header.set(rest, first.data.length);
    first.data.fill(0);
    rest.fill(0);
    const nl = header.indexOf(0x0a);
    if (nl < 0) {
      throw new AgentUnavailableError("x00 agent closed the connection without an answer");
    }
    const response = parseResponse(header.subarray(0, nl), received.length);
    if (!response.ok) {
      throw new AgentUnavailableError(`x00 agent refused: ${response.error}`);
    }
    // Deno's settings as x00 exec got them (src/hardening/deno_settings.ts), then what the agent sends.
    const env: Record<string, string> = {
      ...workloadEnvironment(Deno.env.toObject()),
      ...response.env,
    };
    response.files.forEach((variable, i) => {
      fcntl(received[i]!, F_SETFD, 0); // CMD inherits the memfd
      env[variable] = `/proc/self/fd/${received[i]}`;
    });
    // Link references: CMD keeps the agent's BPF links (and so its protection) alive if the agent dies.
    for (const link of received.slice(response.files.length)) {
      fcntl(link, F_DUPFD, LINK_FD_BASE); // F_DUPFD leaves the copy without CLOEXEC
    }
    close(fd);
    // SIGUSR1 is blocked in X00 (no debugger port); CMD starts with it unblocked and at its default.
    return withSignalUnblocked(
      SIGUSR1,
      () =>
        execve(
          path,
          [options.cmd, ...options.args],
          Object.entries(env).map(([k, v]) => `${k}=${v}`),
        ),
    );
  } catch (e) {
    header?.fill(0);
    for (const r of received) {
      try {
        close(r);
      } catch {
        // already closed
      }
    }
    if (e instanceof X00Error) throw e;
    throw new AgentUnavailableError(`x00 exec failed: ${(e as Error).message}`, { cause: e });
  }
}
