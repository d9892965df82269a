import assert from "node:assert/strict";
import { blockSignals } from "../../ffi/libc.ts";
import { resolveProgram } from "./program.ts";
import { exitCodeOf, Workload } from "./supervisor.ts";

const SH = "/bin/sh";

/** Runs `script` under sh as a workload with `env`, its stdout captured in a temporary file. */
async function run(script: string, env: Record<string, string> = {}) {
  const out = await Deno.makeTempFile();
  try {
    const w = Workload.spawn({ cmd: SH, args: ["-c", `exec >${out}; ${script}`], env });
    const status = await w.status;
    return { status, out: (await Deno.readTextFile(out)).trim(), w };
  } finally {
    await Deno.remove(out);
  }
}

Deno.test("Workload.spawn() gives exactly the environment asked for, nothing of X00's", async () => {
  Deno.env.set("X00_TEST_NOT_FOR_THE_WORKLOAD", "leak");
  try {
    const { status, out } = await run("env", { A: "1", B: "two words", C: "" });
    assert.deepEqual(status, { success: true, code: 0, signal: null });
    assert.deepEqual(out.split("\n").filter((l) => !l.startsWith("PWD=")).sort(), [
      "A=1",
      "B=two words",
      "C=",
    ]);
  } finally {
    Deno.env.delete("X00_TEST_NOT_FOR_THE_WORKLOAD");
  }
});

Deno.test("Workload.spawn(): the workload's exit code, and 128 + N with the signal's name when killed", async () => {
  const exited = await run("exit 7");
  assert.deepEqual(exited.status, { success: false, code: 7, signal: null });
  assert.equal(exitCodeOf(exited.status), 7);
  const killed = await run("kill -TERM $$");
  assert.deepEqual(killed.status, { success: false, code: 143, signal: "SIGTERM" });
  assert.equal(exitCodeOf(killed.status), 143);
  assert.equal(killed.w.exited, true);
});

Deno.test("Workload.spawn(): an empty signal mask and SIGPIPE at its default, whatever X00 blocks or ignores", async () => {
  // SIGUSR2 blocked in this thread (as x00 blocks SIGUSR1 in all), SIGPIPE ignored (as Deno does). The workload is
  // cp, which reads its own status and touches no signal (a shell would clear its mask itself).
  blockSignals([12]);
  const out = await Deno.makeTempFile();
  try {
    const w = Workload.spawn({ cmd: "/bin/cp", args: ["/proc/self/status", out], env: {} });
    assert.equal((await w.status).code, 0);
    const status = await Deno.readTextFile(out);
    const mask = (name: string) =>
      BigInt("0x" + status.match(new RegExp(`${name}:\\s*([0-9a-f]+)`))![1]);
    assert.equal(mask("SigBlk"), 0n, "no signal blocked");
    assert.equal(mask("SigIgn") & (1n << 12n), 0n, "SIGPIPE (13) not ignored");
  } finally {
    await Deno.remove(out);
  }
});

Deno.test("Workload kill() and stop() reach the workload, and do nothing once it has exited", async () => {
  const w = Workload.spawn({
    cmd: SH,
    args: ["-c", "trap 'exit 42' USR2; while :; do sleep 0.05; done"],
    env: {},
  });
  await new Promise((r) => setTimeout(r, 200)); // the trap is set
  w.kill("SIGUSR2");
  assert.deepEqual(await w.status, { success: false, code: 42, signal: null });
  w.kill("SIGKILL"); // exited and reaped: ignored
  const stubborn = Workload.spawn({ cmd: SH, args: ["-c", "trap '' TERM; sleep 30"], env: {} });
  await new Promise((r) => setTimeout(r, 200));
  const status = await stubborn.stop("SIGTERM", 300);
  assert.equal(status.signal, "SIGKILL");
});

Deno.test("Workload.spawn() looks a bare name up in the workload's PATH, not X00's, and reports what fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/hello`, "#!/bin/sh\necho from-path\n", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/noexec`, "#!/bin/sh\n", { mode: 0o644 });
    assert.equal(resolveProgram("hello", `/nonexistent:${dir}`), `${dir}/hello`);
    assert.equal(resolveProgram("noexec", dir), undefined);
    assert.equal(resolveProgram("hello", undefined), undefined);
    assert.equal(resolveProgram("./x", undefined), "./x");
    const w = Workload.spawn({ cmd: "hello", args: [], env: { PATH: dir } });
    assert.equal((await w.status).code, 0);
    assert.throws(
      () => Workload.spawn({ cmd: "hello", args: [], env: {} }),
      (e: unknown) =>
        e instanceof Deno.errors.NotFound && /Failed to spawn 'hello'/.test(e.message),
    );
    assert.throws(
      () => Workload.spawn({ cmd: `${dir}/missing`, args: [], env: {} }),
      (e: unknown) =>
        e instanceof Deno.errors.NotFound && /No such file or directory/.test(e.message),
    );
    assert.throws(
      () => Workload.spawn({ cmd: `${dir}/noexec`, args: [], env: {} }),
      (e: unknown) =>
        e instanceof Deno.errors.PermissionDenied && /Permission denied/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Workload.spawn() kills a workload it cannot follow (no descriptor left for its pidfd)", async () => {
  const marker = `x00-unfollowed-${crypto.randomUUID()}`;
  const script = `
    import { setrlimit } from ${JSON.stringify(new URL("../../ffi/libc.ts", import.meta.url).href)};
    import { Workload } from ${JSON.stringify(new URL("./supervisor.ts", import.meta.url).href)};
    const highest = Math.max(...[...Deno.readDirSync("/proc/self/fd")].map((e) => Number(e.name)));
    setrlimit(7, BigInt(highest + 1)); // RLIMIT_NOFILE
    const held = [];
    try {
      for (;;) held.push(Deno.openSync("/dev/null")); // the free numbers below the limit, until EMFILE
    } catch { /* every descriptor number is taken */ }
    try {
      Workload.spawn({ cmd: "/bin/sh", args: ["-c", "exec >/dev/null 2>&1; sleep 30; : ${marker}"], env: {} });
      console.log("spawned");
    } catch (e) {
      console.log(e.message);
    }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.match(
    text,
    /^Cannot follow '\/bin\/sh' \(pid \d+\), killed it: pidfd_open failed: Too many open files/m,
  );
  const left = [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).filter((e) => {
    try {
      return Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(marker);
    } catch {
      return false;
    }
  }).map((e) => Number(e.name));
  for (const pid of left) Deno.kill(pid, "SIGKILL");
  assert.deepEqual(left, [], "the workload is not left running");
});
