/**
 * `x00 audit` as an operator runs it: a subprocess of `deno run -A mod.ts audit`, with real execs and access
 * attempts happening while it runs.
 */
import assert from "node:assert/strict";
import type { AccessEvent, AuditEvent, ExecEvent } from "../../src/events/types.ts";
import type { SummaryData } from "../../src/events/summary.ts";
import {
  AS_NOBODY,
  denoDirForNobody,
  lines,
  marker,
  projectForNobody,
  requireRoot,
  ROOT,
  runCommand,
  sleep,
  spawnTarget,
  stopProcess,
} from "./_helpers.ts";

const MOD = `${ROOT}mod.ts`;

/** A running `x00 audit`. */
interface AuditRun {
  /** Resolves once "attached in N ms" is on stderr (rejects if the process ends first). */
  attached: Promise<void>;
  /** Waits for the process to end. */
  done(): Promise<{ code: number; stdout: string; stderr: string }>;
}

function startAudit(args: string[]): AuditRun {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, "audit", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let stderr = "";
  let onAttached: () => void = () => {};
  const attached = new Promise<void>((resolve, reject) => {
    onAttached = resolve;
    child.status.then(() =>
      reject(new Error(`x00 audit ended before attaching: ${stderr.trim()}`))
    );
  });
  attached.catch(() => {}); // observed by the caller when it matters
  const stderrDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += chunk;
      if (/attached in \d+ ms/.test(stderr)) onAttached();
    }
  })();
  const stdout = new Response(child.stdout).text();
  return {
    attached,
    async done() {
      const [status, out] = await Promise.all([child.status, stdout, stderrDone]);
      return { code: status.code, stdout: out, stderr };
    },
  };
}

/** Runs `x00 audit ...` to completion (for the error cases). */
async function auditOnce(args: string[]) {
  return await runCommand(Deno.execPath(), ["run", "-A", MOD, "audit", ...args], {
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  });
}

function parseJsonLines(text: string): (AuditEvent | SummaryData)[] {
  return lines(text).map((line, i) => {
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(`line ${i + 1} is not JSON: ${line}`);
    }
  });
}

/** Triggers an exec with a marker and an access to `target`; returns the marker and the accessor's pid. */
async function trigger(target: Deno.ChildProcess): Promise<{ tag: string; catPid: number }> {
  const tag = marker();
  const echo = await runCommand("/bin/echo", [tag]);
  assert.equal(echo.code, 0);
  const cat = await runCommand("cat", [`/proc/${target.pid}/environ`]);
  assert.equal(cat.code, 0);
  return { tag, catPid: cat.pid };
}

/** Asserts a one-line error on stderr with no stack trace. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const all = lines(stderr);
  assert.equal(all.length, 1, `one line on stderr, got:\n${stderr}`);
  assert.match(all[0]!, pattern);
  assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
}

Deno.test("x00 audit --format json streams exec and access events and ends with a summary", async () => {
  requireRoot();
  const target = spawnTarget();
  try {
    const audit = startAudit(["--duration", "2s", "--format", "json"]);
    await audit.attached;
    const { tag, catPid } = await trigger(target);
    const { code, stdout, stderr } = await audit.done();
    assert.equal(code, 0, stderr);
    assert.match(
      stderr,
      /^x00 audit: attached in \d+ ms: exec monitor \(tp_btf\), access monitor/m,
    );
    const events = parseJsonLines(stdout);
    const exec = events.find((e) => e.type === "exec" && e.args.includes(tag)) as ExecEvent;
    assert.ok(exec, `exec of /bin/echo ${tag}`);
    assert.equal(exec.filename, "/bin/echo");
    assert.equal(exec.process.ppid, Deno.pid);
    assert.match(exec.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const access = events.find((e) =>
      e.type === "access" && e.accessor.pid === catPid
    ) as AccessEvent;
    assert.ok(access, `access by cat[${catPid}]`);
    assert.equal(access.resource, "environ");
    assert.equal(access.action, "allowed");
    assert.equal(access.target?.pid, target.pid);
    assert.equal(access.mode, "monitor");

    const summary = events.at(-1) as SummaryData;
    assert.equal(summary.type, "summary");
    assert.equal(events.filter((e) => e.type === "summary").length, 1, "one summary, last");
    assert.ok((summary.events.exec ?? 0) >= 1);
    assert.ok((summary.events.access ?? 0) >= 1);
    // The summary lists the busiest binaries: /bin/echo (one exec) is among them unless the machine ran more
    // other binaries than the list holds while the test ran.
    const binaries = summary.top_binaries;
    assert.ok(
      binaries.some((b) => b.filename === "/bin/echo") ||
        binaries.length === 10,
      JSON.stringify(binaries),
    );
    assert.ok(
      summary.accesses.some((g) =>
        g.target === `sleep[${target.pid}]` && g.accessor.startsWith(`cat[${catPid}]`)
      ),
      JSON.stringify(summary.accesses),
    );
    assert.deepEqual(summary.lost_events, { exec: 0, access: 0 });
    assert.ok(summary.duration_seconds >= 1.5 && summary.duration_seconds <= 3);
  } finally {
    await stopProcess(target);
  }
});

Deno.test("x00 audit --no-exec reports access attempts only", async () => {
  requireRoot();
  const target = spawnTarget();
  try {
    const audit = startAudit(["--duration", "2s", "--format", "json", "--no-exec"]);
    await audit.attached;
    const { catPid } = await trigger(target);
    const { code, stdout, stderr } = await audit.done();
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /exec monitor/);
    const events = parseJsonLines(stdout);
    assert.deepEqual(events.filter((e) => e.type === "exec"), []);
    assert.ok(events.some((e) => e.type === "access" && e.accessor.pid === catPid));
    assert.equal(events.at(-1)?.type, "summary");
  } finally {
    await stopProcess(target);
  }
});

Deno.test("x00 audit --comm keeps only events of that command name", async () => {
  requireRoot();
  const target = spawnTarget();
  try {
    const audit = startAudit(["--duration", "2s", "--format", "json", "--comm", "cat"]);
    await audit.attached;
    const { tag, catPid } = await trigger(target);
    const { code, stdout, stderr } = await audit.done();
    assert.equal(code, 0, stderr);
    const events = parseJsonLines(stdout);
    assert.ok(events.some((e) => e.type === "access" && e.accessor.pid === catPid));
    assert.ok(events.some((e) => e.type === "exec" && e.process.pid === catPid));
    assert.ok(!events.some((e) => e.type === "exec" && e.args.includes(tag)), "echo is filtered");
    for (const e of events) {
      if (e.type === "exec") {
        assert.ok(e.process.comm === "cat" || e.filename.endsWith("/cat"), JSON.stringify(e));
      } else if (e.type === "access") {
        assert.ok(e.accessor.comm === "cat" || e.target?.comm === "cat", JSON.stringify(e));
      }
    }
  } finally {
    await stopProcess(target);
  }
});

Deno.test("x00 audit --output FILE appends JSON Lines to the file, not stdout", async () => {
  requireRoot();
  const dir = await Deno.makeTempDir({ prefix: "x00-audit-" });
  const target = spawnTarget();
  try {
    const file = `${dir}/audit.jsonl`;
    const audit = startAudit(["--duration", "2s", "--output", file]);
    await audit.attached;
    const { tag, catPid } = await trigger(target);
    const { code, stdout, stderr } = await audit.done();
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "");
    const events = parseJsonLines(await Deno.readTextFile(file));
    assert.ok(events.some((e) => e.type === "exec" && e.args.includes(tag)));
    assert.ok(events.some((e) => e.type === "access" && e.accessor.pid === catPid));
    assert.equal(events.at(-1)?.type, "summary");
  } finally {
    await stopProcess(target);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("x00 audit --format table writes aligned lines and a text summary", async () => {
  requireRoot();
  const audit = startAudit(["--duration", "1s", "--format", "table"]);
  await audit.attached;
  const tag = marker();
  await runCommand("/bin/echo", [tag]);
  const { code, stdout, stderr } = await audit.done();
  assert.equal(code, 0, stderr);
  const out = lines(stdout);
  assert.match(out[0]!, /^TIME +TYPE +PID COMM +DETAILS$/);
  assert.ok(
    out.some((l) => / exec +\d+ echo +ppid=\d+ uid=0 \/bin\/echo /.test(l) && l.includes(tag)),
  );
  assert.ok(out.some((l) => l.startsWith("--- x00 audit summary")));
});

Deno.test("x00 audit --output to an unwritable place fails with one line and exit code 2", async () => {
  requireRoot();
  for (const file of ["/nonexistent-x00-dir/audit.jsonl", "/proc"]) {
    const r = await auditOnce(["--duration", "1s", "--output", file]);
    assert.equal(r.code, 2, r.stderr);
    assertOneLineError(r.stderr, new RegExp(`^x00: Cannot write --output '${file}': `));
    assert.equal(r.stdout, "");
  }
});

Deno.test("x00 audit rejects an unknown flag with one line and exit code 2", async () => {
  const r = await auditOnce(["--bogus"]);
  assert.equal(r.code, 2);
  assertOneLineError(r.stderr, /^x00: unknown option '--bogus'/);
});

Deno.test("x00 audit rejects a bad --duration with one line and exit code 2", async () => {
  for (const bad of ["soon", "0s", "10", "-1s"]) {
    const r = await auditOnce(["--duration", bad]);
    assert.equal(r.code, 2, `--duration ${bad}: ${r.stderr}`);
    assertOneLineError(r.stderr, /^x00: option '--duration <time>' argument '.*' is invalid/);
  }
});

Deno.test("x00 audit --no-exec --no-access has nothing to do: exit code 2", async () => {
  const r = await auditOnce(["--no-exec", "--no-access", "--duration", "1s"]);
  assert.equal(r.code, 2);
  assertOneLineError(r.stderr, /^x00: Nothing to audit/);
});

Deno.test("x00 audit as nobody exits 77 with one line naming CAP_BPF", async () => {
  requireRoot();
  const denoDir = await denoDirForNobody();
  const project = await projectForNobody();
  const r = await runCommand("setpriv", [
    ...AS_NOBODY,
    "env",
    `DENO_DIR=${denoDir}`,
    `HOME=${denoDir}`,
    "NO_COLOR=1",
    Deno.execPath(),
    "run",
    "-A",
    `${project}/mod.ts`,
    "audit",
    "--duration",
    "1s",
  ], { cwd: project, clearEnv: true, env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" } });
  assert.equal(r.code, 77, r.stderr);
  assertOneLineError(r.stderr, /^x00: x00 audit needs CAP_BPF .*permission denied$/);
  assert.equal(r.stdout, "");
});

Deno.test("x00 audit stops on SIGINT and still writes the summary", async () => {
  requireRoot();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, "audit", "--format", "json"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  await sleep(1500);
  child.kill("SIGINT");
  const out = await output;
  const text = new TextDecoder();
  assert.equal(out.code, 0, text.decode(out.stderr));
  const events = parseJsonLines(text.decode(out.stdout));
  assert.equal(events.at(-1)?.type, "summary");
});
