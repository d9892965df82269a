/**
 * A child process of the Vault end-to-end tests (`x00 run`, `x00 exec`, the host agent), with its stdout
 * collected line by line and its stderr as text.
 *
 * @module
 */

/** A running process; `lines` collects its stdout. */
export interface Collected {
  child: Deno.ChildProcess;
  lines: string[];
  readonly stderr: string;
  /** The first stdout line matching `re`, waiting up to `ms`. */
  waitLine(re: RegExp, ms?: number): Promise<string>;
  /** Its exit status, once stdout and stderr are read to the end. */
  status(): Promise<Deno.CommandStatus>;
  /** SIGTERM (if still running), then the exit code. */
  finish(): Promise<number>;
}

/** Spawns `deno run -A ARGS` with `env` added to the environment (X00_LIBBPF_SYSTEM=1). */
export function spawnDeno(args: string[], env: Record<string, string> = {}): Collected {
  const child = new Deno.Command("deno", {
    args: ["run", "-A", ...args],
    env: { ...env, X00_LIBBPF_SYSTEM: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let stderr = "";
  const out = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
  })();
  const err = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const status = async () => {
    const s = await child.status;
    await out;
    await err;
    return s;
  };
  return {
    child,
    lines,
    get stderr() {
      return stderr;
    },
    async waitLine(re: RegExp, ms = 20_000): Promise<string> {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const hit = lines.find((l) => re.test(l));
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no line ${re} in ${JSON.stringify(lines)}; stderr: ${stderr}`);
    },
    status,
    async finish(): Promise<number> {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone
      }
      return (await status()).code;
    },
  };
}

const ROOT = new URL("../../", import.meta.url).pathname;

/** A running `x00 run --policy POLICY -- sh -c SCRIPT`; `lines` collects the workload's stdout. */
export function startX00(policy: string, script: string, env: Record<string, string> = {}) {
  return spawnDeno([`${ROOT}mod.ts`, "run", "--policy", policy, "--", "sh", "-c", script], env);
}
