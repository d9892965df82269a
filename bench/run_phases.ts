/**
 * Where the time of `x00 run -- CMD` goes: the steps of `runRun` (src/cli/run.ts) in the same order, with the
 * same modules, each one timed. Used by bench/run_overhead.sh (host) and bench/run_vm_guest.sh (VM).
 *
 * ```sh
 * X00_BENCH_SECRET=s deno run --allow-all bench/run_phases.ts POLICY [CMD ARGS...]   # CMD defaults to /bin/true
 * ```
 *
 * Appends one JSON object per run to `$X00_BENCH_PHASES_OUT` (stdout when unset), in milliseconds:
 * `runtime` (exec of deno to `performance.timeOrigin`, only when `$BENCH_T0_NS` — epoch ns taken just before the
 * fork, as bench_timeit sets it — is given), `imports` (timeOrigin to every x00 module loaded, as `mod.ts` loads
 * them), `policy`, `bpf` (AccessMonitor.start: open, load, attach; on a host without BPF-LSM this includes the
 * refused LSM load and the fallback), `protect` (register_self, prctl, setrlimit, start of the event loop),
 * `fetch`, `deliver` (memfds, environment), `spawn` (Deno.Command spawn and the kernel protection check),
 * `workload` (spawn to exit status), `loop_stop` (abort and wait for the event loop), `detach` (closeAsync of the
 * BPF object: links destroyed concurrently, then maps), and `in_process` (timeOrigin to the end of main; process
 * exit comes after).
 *
 * @module
 */

const t0Ns = Deno.env.get("BENCH_T0_NS");
const origin = performance.timeOrigin;
const marks: Record<string, number> = {};
let last = performance.now();
function mark(name: string): void {
  const now = performance.now();
  marks[name] = (marks[name] ?? 0) + (now - last);
  last = now;
}
marks.imports_before_main = last;

// What `x00 run` loads: mod.ts, the parser, then the pieces runRun uses.
await import("../mod.ts");
await import("../src/cli/main.ts"); // the command-line parser, which mod.ts loads for every command but --version
const { getpid, PR_SET_DUMPABLE, prctl, RLIMIT_CORE, setrlimit } = await import(
  "../ffi/libc.ts"
);
const { loadPolicy } = await import("../src/policy/mod.ts");
const { AccessMonitor } = await import("../src/protect/access_monitor.ts");
const { EventLoop } = await import("../src/protect/event_loop.ts");
const { createSources, envSourceVariables, fetchAll, prepareDelivery, zeroSecret } = await import(
  "../src/secrets/mod.ts"
);
const { Workload } = await import("../src/workload/supervisor.ts");
const { WITHHELD_VARS } = await import("../src/cli/run.ts");
mark("imports");

const [policyFile, cmd = "/bin/true", ...args] = Deno.args;
if (!policyFile) {
  console.error("usage: run_phases.ts POLICY [CMD ARGS...]");
  Deno.exit(2);
}
const policy = await loadPolicy(policyFile);
const enforce = policy.policy.mode === "enforce";
mark("policy");

const monitor = await AccessMonitor.start({
  enforce,
  auditAll: false,
  blockEnvironRead: policy.policy.block_environ_read,
  blockMemRead: policy.policy.block_mem_read,
  blockPtrace: policy.policy.block_ptrace,
  allowFallback: !enforce,
});
mark("bpf");

const family = getpid();
const kernelPid = monitor.protectSelf(family, true);
prctl(PR_SET_DUMPABLE, 0n);
setrlimit(RLIMIT_CORE, 1n);
const loop = new EventLoop();
const stop = new AbortController();
loop.add(monitor.object.map("access_events"), () => {});
const loopDone = loop.run({ signal: stop.signal });
mark("protect");

const fetched = await fetchAll(createSources(policy.secrets));
mark("fetch");

const delivery = prepareDelivery(policy.secrets, fetched, {
  baseEnv: Deno.env.toObject(),
  removeVars: [...envSourceVariables(policy.secrets), ...WITHHELD_VARS],
  protectFd: (fd) => monitor.protectSecretFd(fd, family),
});
for (const s of fetched.values()) zeroSecret(s);
mark("deliver");

const w = Workload.spawn({ cmd, args, env: delivery.env });
delivery.closeFds();
// The same check as runRun, but a workload that already exited (and so left the map) is only counted.
const confirmed = kernelPid === family ? monitor.isProtected(w.pid) : true;
mark("spawn");

const status = await w.status;
mark("workload");

stop.abort();
await loopDone;
loop.free();
mark("loop_stop");

await monitor.closeAsync(); // as runRun does since c07cd3e (links destroyed concurrently)
mark("detach");

const result: Record<string, unknown> = {
  mechanism: monitor.mechanism,
  mode: policy.policy.mode,
  exit_code: status.code,
  protection_confirmed: confirmed,
};
if (t0Ns) result.runtime = origin - Number(BigInt(t0Ns) / 1000n) / 1000;
for (const [k, v] of Object.entries(marks)) result[k] = Math.round(v * 1000) / 1000;
result.in_process = Math.round(performance.now() * 1000) / 1000;
const line = JSON.stringify(result) + "\n";
const out = Deno.env.get("X00_BENCH_PHASES_OUT");
if (out) Deno.writeTextFileSync(out, line, { append: true });
else await Deno.stdout.write(new TextEncoder().encode(line));
