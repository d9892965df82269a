/**
 * Where a command name points: the one PATH lookup of `x00 run` (the workload, src/workload/supervisor.ts) and
 * `x00 exec` (src/cli/exec.ts).
 *
 * @module
 */

/**
 * The program `cmd` names, as execvp(3) and `Deno.Command` resolve it: a name with a `/` is a path, anything else is
 * looked up in `path` (a `PATH` value), an empty entry meaning the working directory. Undefined when no executable
 * file matches, or when there is no `path` to look in.
 *
 * @example Usage
 * ```ts ignore
 * resolveProgram("sh", "/usr/bin:/bin"); // "/usr/bin/sh"
 * ```
 */
export function resolveProgram(cmd: string, path: string | undefined): string | undefined {
  if (cmd.includes("/")) return cmd;
  if (cmd === "" || path === undefined) return undefined;
  for (const dir of path.split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${cmd}`;
    try {
      const st = Deno.statSync(candidate);
      if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return candidate;
    } catch {
      // not there: the next entry
    }
  }
  return undefined;
}
