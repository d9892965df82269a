/**
 * Typed errors shared by every X00 module. Each carries the process exit code the CLI uses, so nothing below
 * `src/cli/` needs to know about exiting.
 *
 * @module
 */

/** Exit codes used by X00 (documented in the README). */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** Unexpected internal failure. */
  FAILURE: 1,
  /** Bad input: unknown flag, bad duration, invalid policy, unreadable file. */
  USAGE: 2,
  /** Only `audit` mode is possible here (doctor), or enforcement could not be established (run). */
  NO_ENFORCE: 3,
  /** Neither audit nor enforce is possible (doctor). */
  NO_BPF: 4,
  /** A secret could not be fetched at start-up; the workload was not started. */
  SECRET_UNAVAILABLE: 5,
  /** A required privilege (capability) is missing. Same value as sysexits' EX_NOPERM. */
  NO_PERMISSION: 77,
} as const;

/** Options accepted by {@linkcode X00Error}. */
export interface X00ErrorOptions extends ErrorOptions {
  /** Exit code the CLI should use. Defaults to {@linkcode ExitCode.FAILURE}. */
  exitCode?: number;
}

/**
 * Base class of every error X00 raises on purpose. The message is one line, safe to print: it never contains a
 * secret value.
 *
 * @example Usage
 * ```ts
 * import { X00Error, ExitCode } from "./errors.ts";
 * throw new X00Error("Cannot open /etc/x00.yaml", { exitCode: ExitCode.USAGE });
 * ```
 */
export class X00Error extends Error {
  /** Exit code the CLI uses when this error ends the program. */
  readonly exitCode: number;
  constructor(message: string, options: X00ErrorOptions = {}) {
    super(message, options);
    this.name = "X00Error";
    this.exitCode = options.exitCode ?? ExitCode.FAILURE;
  }
}

/** Bad command-line input. Exit code 2. */
export class UsageError extends X00Error {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, exitCode: ExitCode.USAGE });
    this.name = "UsageError";
  }
}

/** A missing privilege: names the capability and the command that needs it. Exit code 77. */
export class PermissionError extends X00Error {
  /** The capability that is missing, e.g. `CAP_BPF`. */
  readonly capability: string;
  constructor(capability: string, command: string, why?: string, options: ErrorOptions = {}) {
    super(
      `x00 ${command} needs ${capability} (${
        why ? `${why}; ` : ""
      }run it as root or grant ${capability}): permission denied`,
      { ...options, exitCode: ExitCode.NO_PERMISSION },
    );
    this.name = "PermissionError";
    this.capability = capability;
  }
}
