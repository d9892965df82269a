/**
 * Errors raised while loading a policy file. Both carry exit code 2 ({@linkcode ExitCode.USAGE}).
 *
 * @module
 */

import { ExitCode, X00Error } from "../errors.ts";

/** One problem found in a policy file, with the position of the YAML node it is about. */
export interface PolicyIssue {
  /** The file name given to the loader, as the user wrote it. */
  file: string;
  /** 1-based line of the offending node. */
  line: number;
  /** 1-based column of the offending node. */
  column: number;
  /**
   * The field path, e.g. `secrets[1].delivery.env`; `""` for problems with the document itself (YAML syntax,
   * empty file).
   */
  path: string;
  /** One line, e.g. `Cannot load policy as 'policy.mode' is required`. Never contains a secret value. */
  message: string;
}

/**
 * Formats an issue as the single line `FILE:LINE:COL: message`.
 *
 * @example Usage
 * ```ts
 * import { formatPolicyIssue } from "./errors.ts";
 *
 * const line = formatPolicyIssue({
 *   file: "x.yaml",
 *   line: 2,
 *   column: 9,
 *   path: "policy.mode",
 *   message: "Cannot load policy as 'policy.mode' is required",
 * });
 * console.log(line); // x.yaml:2:9: Cannot load policy as 'policy.mode' is required
 * ```
 *
 * @param issue The issue to format.
 * @returns The issue as one line.
 */
export function formatPolicyIssue(issue: PolicyIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.message}`;
}

/**
 * A policy file is not valid. The message is the first issue as `FILE:LINE:COL: message`; {@linkcode issues}
 * holds every issue found, in document order (`x00 policy check` prints them all, one per line).
 *
 * @example Usage
 * ```ts
 * import { PolicyError } from "./errors.ts";
 * import { parsePolicy } from "./load.ts";
 *
 * try {
 *   parsePolicy("policy: { mode: enforced }\n", "x.yaml");
 * } catch (error) {
 *   if (!(error instanceof PolicyError)) throw error;
 *   console.error(error.message);
 *   // x.yaml:1:17: Cannot load policy as 'policy.mode' must be one of "enforce", "audit": current value is "enforced"
 * }
 * ```
 */
export class PolicyError extends X00Error {
  /** The file name given to the loader. */
  readonly file: string;
  /** 1-based line of the first issue. */
  readonly line: number;
  /** 1-based column of the first issue. */
  readonly column: number;
  /** Field path of the first issue (`""` for the document itself). */
  readonly path: string;
  /** Every issue found, in document order; never empty. */
  readonly issues: readonly PolicyIssue[];

  /**
   * Constructs a new instance.
   *
   * @param issues The issues found, at least one, in document order.
   * @param options The error options (`cause`).
   */
  constructor(issues: readonly [PolicyIssue, ...PolicyIssue[]], options: ErrorOptions = {}) {
    const first = issues[0];
    super(formatPolicyIssue(first), { ...options, exitCode: ExitCode.USAGE });
    this.name = "PolicyError";
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.path = first.path;
    this.issues = issues;
  }
}

/**
 * A policy file cannot be read (missing, unreadable, a directory, not UTF-8, too large). The message is one line
 * naming the file and the operating system's reason, e.g.
 * `x.yaml: Cannot load policy as the file cannot be read: No such file or directory (os error 2)`.
 *
 * @example Usage
 * ```ts
 * import { PolicyFileError } from "./errors.ts";
 * import { loadPolicy } from "./load.ts";
 *
 * try {
 *   await loadPolicy("/nonexistent/policy.yaml");
 * } catch (error) {
 *   if (!(error instanceof PolicyFileError)) throw error;
 *   console.error(error.message);
 * }
 * ```
 */
export class PolicyFileError extends X00Error {
  /** The file name given to the loader. */
  readonly file: string;
  /** Why the file cannot be read, e.g. `No such file or directory (os error 2)`. */
  readonly reason: string;

  /**
   * Constructs a new instance.
   *
   * @param file The file name given to the loader.
   * @param reason Why the file cannot be read.
   * @param options The error options (`cause`: the underlying error).
   */
  constructor(file: string, reason: string, options: ErrorOptions = {}) {
    super(`${file}: Cannot load policy as the file cannot be read: ${reason}`, {
      ...options,
      exitCode: ExitCode.USAGE,
    });
    this.name = "PolicyFileError";
    this.file = file;
    this.reason = reason;
  }
}
