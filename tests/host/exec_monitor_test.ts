/**
 * The exec monitor on this kernel: tp_btf sched_process_exec/fork/exit, ring buffer, lost-event counter.
 */
import assert from "node:assert/strict";
import { decodeExecEvent } from "../../src/events/exec_event.ts";
import type { ExecEvent, ExitEvent, ForkEvent } from "../../src/events/types.ts";
import { ExecMonitor } from "../../src/protect/exec_monitor.ts";
import {
  bpfDescriptors,
  EventCollector,
  marker,
  requireRoot,
  runCommand,
  stopProcess,
} from "./_helpers.ts";

type ProcEvent = ExecEvent | ForkEvent | ExitEvent;

async function withMonitor(
  options: Parameters<typeof ExecMonitor.start>[0],
  fn: (events: EventCollector<ProcEvent>, monitor: ExecMonitor) => Promise<void>,
): Promise<void> {
  requireRoot();
  const monitor = await ExecMonitor.start(options);
  const events = new EventCollector<ProcEvent>();
  try {
    events.add(monitor.object.map("events"), decodeExecEvent).start();
    await fn(events, monitor);
  } finally {
    await events.stop();
    monitor.close();
  }
}

Deno.test("ExecMonitor reports an exec with pid, ppid, uid, filename, argv and cgroup", async () => {
  await withMonitor({}, async (events, monitor) => {
    const tag = marker();
    const echo = await runCommand("/bin/echo", [tag]);
    assert.equal(echo.code, 0);
    const e = await events.waitFor(
      (e) => e.type === "exec" && e.args.includes(tag),
      { what: `exec of /bin/echo ${tag}` },
    ) as ExecEvent;
    assert.equal(e.process.pid, echo.pid);
    assert.equal(e.process.tid, echo.pid);
    assert.equal(e.process.ppid, Deno.pid, "the test process is the parent");
    assert.equal(e.process.uid, 0);
    assert.equal(e.process.gid, 0);
    assert.equal(e.process.comm, "echo");
    assert.equal(e.filename, "/bin/echo");
    assert.equal(e.process.exe, "/bin/echo");
    assert.deepEqual(e.args, ["/bin/echo", tag]);
    assert.equal(e.args_truncated, false);
    assert.notEqual(e.process.cgroup_id, "0");
    assert.match(e.process.cgroup_id, /^\d+$/);
    assert.equal(
      events.filter((x) => x.type === "fork" || x.type === "exit").length,
      0,
      "no fork/exit records unless asked",
    );
    assert.equal(monitor.lostEvents(), 0n);
  });
});

Deno.test("ExecMonitor bounds argv at 512 bytes and says it truncated", async () => {
  await withMonitor({}, async (events) => {
    const tag = marker();
    const long = "y".repeat(600);
    await runCommand("/bin/echo", [tag, long]);
    const e = await events.waitFor(
      (e) => e.type === "exec" && e.args[1] === tag,
      { what: "exec with a long argv" },
    ) as ExecEvent;
    assert.equal(e.args_truncated, true);
    assert.equal(e.args.join("\0").length, 512);
    assert.ok(e.args[2]!.startsWith("yyyy"));
  });
});

Deno.test("ExecMonitor sends the longest record whole: a 255-byte path, then 512 bytes of argv", async () => {
  // Records are as long as what they carry (bpf/exec_monitor.h): the filename's length decides where argv starts.
  // A path of 255 bytes (the most the record keeps) and an argv past 512 give the largest record there is.
  const dir = await Deno.makeTempDir({ prefix: "x00-long-" });
  try {
    let path = dir;
    while (path.length < 255 - 12) path += "/" + "d".repeat(Math.min(40, 255 - 13 - path.length));
    await Deno.mkdir(path, { recursive: true });
    const exe = `${path}/` + "t".repeat(255 - path.length - 1);
    assert.equal(exe.length, 255);
    await Deno.copyFile("/bin/true", exe);
    await Deno.chmod(exe, 0o755);
    await withMonitor({}, async (events) => {
      const tag = marker();
      assert.equal((await runCommand(exe, [tag, "z".repeat(600)])).code, 0);
      const e = await events.waitFor(
        (e) => e.type === "exec" && e.args[1] === tag,
        { what: "exec of a 255-byte path" },
      ) as ExecEvent;
      assert.equal(e.filename, exe);
      assert.equal(e.args[0], exe);
      assert.equal(e.args_truncated, true);
      assert.equal(e.args.join("\0").length, 512);
      assert.ok(/^z+$/.test(e.args[2]!));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ExecMonitor with forkExit reports fork and exit with exit code and signal", async () => {
  await withMonitor({ forkExit: true }, async (events, monitor) => {
    const tag = marker();
    const sh = await runCommand("/bin/sh", ["-c", "exit 3", tag]);
    assert.equal(sh.code, 3);
    const fork = await events.waitFor(
      (e) => e.type === "fork" && e.child_pid === sh.pid,
      { what: `fork of ${sh.pid}` },
    ) as ForkEvent;
    assert.equal(fork.process.pid, Deno.pid, "the parent's tgid");
    const exec = await events.waitFor(
      (e) => e.type === "exec" && e.process.pid === sh.pid,
      { what: `exec of ${sh.pid}` },
    ) as ExecEvent;
    assert.deepEqual(exec.args, ["/bin/sh", "-c", "exit 3", tag]);
    const exit = await events.waitFor(
      (e) => e.type === "exit" && e.process.pid === sh.pid,
      { what: `exit of ${sh.pid}` },
    ) as ExitEvent;
    assert.equal(exit.exit_code, 3);
    assert.equal(exit.signal, 0);
    assert.equal(exit.process.comm, "sh");

    const victim = new Deno.Command("sleep", { args: ["30"] }).spawn();
    await events.waitFor((e) => e.type === "exec" && e.process.pid === victim.pid);
    await stopProcess(victim);
    const killed = await events.waitFor(
      (e) => e.type === "exit" && e.process.pid === victim.pid,
      { what: `exit of the killed ${victim.pid}` },
    ) as ExitEvent;
    assert.equal(killed.signal, 9);
    assert.equal(killed.exit_code, 0);
    assert.equal(monitor.lostEvents(), 0n);
  });
});

Deno.test("ExecMonitor does not report threads as forks", async () => {
  await withMonitor({ forkExit: true }, async (events) => {
    // Deno starts worker threads; a worker is a new thread of this process, never a fork of it.
    const worker = new Worker(
      "data:text/javascript,self.postMessage('up');",
      { type: "module" },
    );
    await new Promise((resolve) => worker.onmessage = resolve);
    worker.terminate();
    const sh = await runCommand("/bin/true", []);
    await events.waitFor((e) => e.type === "exit" && e.process.pid === sh.pid);
    const forks = events.filter((e) => e.type === "fork" && e.process.pid === Deno.pid);
    assert.deepEqual(forks.map((f) => (f as ForkEvent).child_pid), [sh.pid]);
  });
});

Deno.test("ExecMonitor with a cgroup filter reports only that cgroup", async () => {
  requireRoot();
  const all = await ExecMonitor.start({});
  const events = new EventCollector<ProcEvent>().add(all.object.map("events"), decodeExecEvent);
  const wrong = await ExecMonitor.start({ cgroupId: 0xdead_beefn });
  const none = new EventCollector<ProcEvent>().add(wrong.object.map("events"), decodeExecEvent);
  let right: ExecMonitor | undefined;
  let some: EventCollector<ProcEvent> | undefined;
  try {
    events.start();
    const tag = marker();
    await runCommand("/bin/echo", [tag]);
    const first = await events.waitFor((e) => e.type === "exec" && e.args.includes(tag));
    // Both programs ran in the same tracepoint call: once one record is visible, the other is too.
    none.drain();
    assert.deepEqual(none.events, [], "nothing from a cgroup no process is in");

    right = await ExecMonitor.start({ cgroupId: BigInt(first.process.cgroup_id) });
    some = new EventCollector<ProcEvent>().add(right.object.map("events"), decodeExecEvent);
    const tag2 = marker();
    await runCommand("/bin/echo", [tag2]);
    await events.waitFor((e) => e.type === "exec" && e.args.includes(tag2));
    some.drain();
    assert.ok(some.events.some((e) => e.type === "exec" && e.args.includes(tag2)));
    for (const e of some.events) assert.equal(e.process.cgroup_id, first.process.cgroup_id);
  } finally {
    await events.stop();
    await none.stop();
    await some?.stop();
    all.close();
    wrong.close();
    right?.close();
  }
});

Deno.test("ExecMonitor reads lost_events as 0 for a small run of 200 execs", async () => {
  await withMonitor({}, async (events, monitor) => {
    const tag = marker();
    const sh = await runCommand("/bin/sh", [
      "-c",
      `i=0; while [ $i -lt 200 ]; do /bin/true ${tag}; i=$((i+1)); done`,
    ]);
    assert.equal(sh.code, 0);
    const last = Date.now() + 5000;
    while (events.filter((e) => e.type === "exec" && e.args[1] === tag).length < 200) {
      assert.ok(Date.now() < last, "200 exec events within 5 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(monitor.lostEvents(), 0n);
  });
});

Deno.test("ExecMonitor's records that wrap around the end of a small ring buffer arrive whole", async () => {
  // 16 KiB holds a few dozen exec records: 120 of varied sizes wrap around its end many times, at many offsets
  // (the reader maps the data once and copies a wrapping record in two parts).
  await withMonitor({ ringBufferBytes: 16384 }, async (events, monitor) => {
    const tag = marker();
    const expected: string[] = [];
    for (let i = 0; i < 120; i++) {
      const arg = `${tag}-${i}-${"x".repeat((i * 37) % 200)}`;
      expected.push(arg);
      assert.equal((await runCommand("/bin/true", [arg])).code, 0);
      // Ten at a time (a few KiB), so the ring never fills however late the consumer drains: nothing is lost
      // and every record, wrapping or not, must arrive.
      if (i % 10 === 9 || i === 119) {
        await events.waitFor(
          (e) => e.type === "exec" && e.args[1] === arg,
          { what: `exec ${i}` },
        );
      }
    }
    const seen = events.filter((e) =>
      e.type === "exec" && (e.args[1] ?? "").startsWith(`${tag}-`)
    ) as ExecEvent[];
    for (const e of seen) {
      assert.equal(e.filename, "/bin/true");
      assert.ok(expected.includes(e.args[1]!), `a record read whole: ${JSON.stringify(e.args)}`);
    }
    assert.equal(monitor.lostEvents(), 0n);
    assert.deepEqual(seen.map((e) => e.args[1]), expected);
  });
});

Deno.test("ExecMonitor.close() leaves no BPF descriptor behind", async () => {
  requireRoot();
  const before = bpfDescriptors();
  const monitor = await ExecMonitor.start({ forkExit: true });
  const events = new EventCollector<ProcEvent>().add(monitor.object.map("events"), decodeExecEvent);
  events.start();
  const during = bpfDescriptors();
  assert.ok((during["bpf-prog"] ?? 0) >= (before["bpf-prog"] ?? 0) + 3, JSON.stringify(during));
  assert.ok(
    (during["bpf_link"] ?? 0) + (during["[perf_event]"] ?? 0) >
      (before["bpf_link"] ?? 0) + (before["[perf_event]"] ?? 0),
    `links while attached: ${JSON.stringify(during)}`,
  );
  await events.stop();
  monitor.close();
  monitor.close(); // idempotent
  assert.deepEqual(bpfDescriptors(), before);
});
