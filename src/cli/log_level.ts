/**
 * How much X00 says on its status stream (stderr) besides audit events: `X00_LOG_LEVEL` = `debug`, `info`,
 * `warn` (the default) or `error`. Warnings and errors are what needs attention (a refused renewal, a failed
 * rotation, an insecure connection); `info` adds routine lines (each login, each token or lease renewal, each
 * new version seen); `debug` adds every retry wait. `X00_DEBUG` set (any value) means `debug`, as before.
 * Lines about what X00 does to the workload (started, restarted, signalled) are not log lines: they always
 * appear.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** The levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One level. */
export type LogLevel = typeof LOG_LEVELS[number];

/** The default level. */
export const DEFAULT_LOG_LEVEL: LogLevel = "warn";

/**
 * The level X00's environment asks for.
 *
 * @throws {UsageError} Exit code 2 for a value that is not a level.
 *
 * @example Usage
 * ```ts
 * import { logLevelFrom } from "./log_level.ts";
 * console.assert(logLevelFrom({}) === "warn");
 * console.assert(logLevelFrom({ X00_LOG_LEVEL: "info" }) === "info");
 * ```
 */
export function logLevelFrom(env: Record<string, string | undefined>): LogLevel {
  const v = env.X00_LOG_LEVEL;
  if (v === undefined || v === "") return env.X00_DEBUG !== undefined ? "debug" : DEFAULT_LOG_LEVEL;
  if ((LOG_LEVELS as readonly string[]).includes(v)) return v as LogLevel;
  throw new UsageError(
    `X00_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}: current value is ${JSON.stringify(v)}`,
  );
}

/** Whether a line of `level` is shown at `threshold`. */
export function shown(level: LogLevel, threshold: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}
