/**
 * Takes credentials out of X00's own environment once they are read: `env` secret sources and `VAULT_TOKEN`.
 *
 * Removing a variable (`Deno.env.delete`, unsetenv) only drops its pointer from the `environ` array; the
 * `NAME=value` text the kernel placed at exec stays in memory between `mm->env_start` and `mm->env_end`, and that
 * range is exactly what `/proc/PID/environ` shows. So the value's bytes in that range are overwritten too, through
 * `/proc/self/mem` (a process may always write its own memory). After this, neither `Deno.env` nor X00's
 * `/proc/PID/environ` holds the value; the copy X00 keeps is the one its sources hand to the workload.
 *
 * @module
 */

/** The start and end of the environment block the kernel placed at exec (fields 50 and 51 of /proc/self/stat). */
export function environBlock(stat = Deno.readTextFileSync("/proc/self/stat")): [bigint, bigint] {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); env_start is field 50, env_end field 51.
  return [BigInt(fields[47]!), BigInt(fields[48]!)];
}

/**
 * Removes `names` from this process's environment and zeroes their values in the exec-time environment block.
 * Returns the values that were set, for the caller to use instead of reading the environment again.
 *
 * @example Usage
 * ```ts ignore
 * const taken = takeFromEnvironment(["VAULT_TOKEN"]);
 * console.log(Deno.env.get("VAULT_TOKEN")); // undefined
 * ```
 */
export function takeFromEnvironment(names: readonly string[]): Map<string, string> {
  const taken = new Map<string, string>();
  for (const name of new Set(names)) {
    const value = Deno.env.get(name);
    if (value === undefined) continue;
    taken.set(name, value);
    Deno.env.delete(name);
  }
  if (taken.size > 0) scrubEnvironBlock(new Set(taken.keys()));
  return taken;
}

/** Overwrites the values of `names` in the exec-time environment block with zero bytes. */
function scrubEnvironBlock(names: ReadonlySet<string>): void {
  const block = Deno.readFileSync("/proc/self/environ");
  const [start] = environBlock();
  const mem = Deno.openSync("/proc/self/mem", { read: true, write: true });
  try {
    let offset = 0;
    while (offset < block.length) {
      let end = block.indexOf(0, offset);
      if (end < 0) end = block.length;
      const eq = block.indexOf(0x3d, offset); // '='
      if (eq > offset && eq < end) {
        const name = new TextDecoder().decode(block.subarray(offset, eq));
        if (names.has(name)) {
          const zeros = new Uint8Array(end - eq - 1);
          let done = 0;
          while (done < zeros.length) {
            mem.seekSync(start + BigInt(eq + 1 + done), Deno.SeekMode.Start);
            done += mem.writeSync(zeros.subarray(done));
          }
        }
      }
      offset = end + 1;
    }
  } finally {
    mem.close();
    block.fill(0);
  }
}
