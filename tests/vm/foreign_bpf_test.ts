/**
 * Root's own BPF programs against a protected workload (issue 7): a sleepable task iterator that copies every
 * process's environment with bpf_copy_from_user_task needs no ptrace access, so X00 sees every foreign load and,
 * where the policy says so, refuses it. Runs in the VM (BPF-LSM kernel); skipped elsewhere.
 */
import assert from "node:assert/strict";
import { IN_VM, type Protected, startProtected, waitForEvent } from "./_x00.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const OBJECT = `${ROOT}build/vm-bpf/task_environ.bpf.o`;

interface Loaded {
  loaded: boolean;
  errno?: number;
  error?: string;
  output?: string;
}

/** Loads `program` of the attacker's object as a separate root process, optionally in cgroup `cgroup`. */
async function load(program: string, cgroup?: string): Promise<Loaded> {
  const argv = [
    "run",
    "-A",
    "--no-check",
    "--cached-only",
    `${ROOT}tests/vm/_bpf_attacker.ts`,
    OBJECT,
    program,
  ];
  // In a cgroup of its own: the shell moves itself there, then becomes deno.
  const cmd = cgroup
    ? new Deno.Command("sh", {
      args: [
        "-c",
        `echo $$ > /sys/fs/cgroup${cgroup}/cgroup.procs && exec deno "$@"`,
        "sh",
        ...argv,
      ],
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command("deno", { args: argv, stdout: "piped", stderr: "piped" });
  const r = await cmd.output();
  const line = new TextDecoder().decode(r.stdout).trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as Loaded;
  } catch {
    throw new Error(`attacker printed no verdict: ${line} ${new TextDecoder().decode(r.stderr)}`);
  }
}

function loadEvent(p: Protected, name: string) {
  return waitForEvent(
    p,
    (e) => e.resource === "bpf_load" && (e.bpf_program as { name: string })?.name === name,
  );
}

function assertIteratorEvent(event: Record<string, unknown> | undefined, action: string): void {
  assert.ok(event, "no bpf_load event for the iterator");
  assert.equal(event.action, action);
  assert.equal(event.hook, "lsm:bpf");
  assert.deepEqual(event.bpf_program, {
    type: "tracing",
    attach_type: "trace_iter",
    sleepable: true,
    name: "dump_environ",
  });
  assert.equal((event.accessor as { uid: number }).uid, 0);
}

Deno.test({
  name:
    "foreign_bpf: log (the default): a root task iterator loads and reads the workload — logged",
  ignore: !IN_VM,
  async fn() {
    const p = await startProtected({ mode: "enforce" });
    try {
      const r = await load("dump_environ");
      assert.equal(r.loaded, true, r.error);
      // The honest limit of the default: root's own kernel program reads what ptrace may not.
      assert.ok(r.output?.includes(p.secret), "the iterator read the workload's environment");
      assertIteratorEvent(await loadEvent(p, "dump_environ"), "allowed");
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  name:
    "foreign_bpf: refuse_tracing (enforce): the iterator is refused and logged, a socket filter still loads",
  ignore: !IN_VM,
  async fn() {
    const p = await startProtected({
      mode: "enforce",
      policyLines: ["foreign_bpf: refuse_tracing"],
    });
    try {
      const r = await load("dump_environ");
      assert.equal(r.loaded, false, "the iterator must not load");
      assert.equal(r.errno, 1, r.error);
      assertIteratorEvent(await loadEvent(p, "dump_environ"), "denied");
      const filter = await load("accept_all");
      assert.equal(filter.loaded, true, filter.error);
      const e = await loadEvent(p, "accept_all");
      assert.equal(e?.action, "allowed");
      assert.equal((e?.bpf_program as { type: string }).type, "socket_filter");
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  name: "foreign_bpf: refuse_all (enforce) refuses a socket filter too; audit mode only logs",
  ignore: !IN_VM,
  async fn() {
    const p = await startProtected({ mode: "enforce", policyLines: ["foreign_bpf: refuse_all"] });
    try {
      const filter = await load("accept_all");
      assert.equal(filter.loaded, false);
      // libbpf's feature probes are refused first, so it loads the program without its name.
      const e = await waitForEvent(
        p,
        (e) =>
          e.resource === "bpf_load" && e.action === "denied" &&
          (e.bpf_program as { type: string }).type === "socket_filter",
      );
      assert.ok(e, "a denied bpf_load event for the socket filter");
    } finally {
      await p.stop();
    }
    const a = await startProtected({ mode: "audit", policyLines: ["foreign_bpf: refuse_all"] });
    try {
      const r = await load("dump_environ");
      assert.equal(r.loaded, true, r.error);
      assertIteratorEvent(await loadEvent(a, "dump_environ"), "allowed");
    } finally {
      await a.stop();
    }
  },
});

Deno.test({
  name:
    "foreign_bpf_allow: a loader in an allowed cgroup (or with an allowed uid) is not refused, and is logged",
  ignore: !IN_VM,
  async fn() {
    const cgroup = "/x00-allowed-tracer";
    await Deno.mkdir(`/sys/fs/cgroup${cgroup}`, { recursive: true });
    try {
      const p = await startProtected({
        mode: "enforce",
        policyLines: ["foreign_bpf: refuse_tracing", `foreign_bpf_allow: { cgroups: [${cgroup}] }`],
      });
      try {
        const allowed = await load("dump_environ", cgroup);
        assert.equal(allowed.loaded, true, allowed.error);
        assertIteratorEvent(await loadEvent(p, "dump_environ"), "allowed");
        const elsewhere = await load("dump_environ");
        assert.equal(elsewhere.loaded, false, "outside the allowed cgroup it is refused");
      } finally {
        await p.stop();
      }
      const u = await startProtected({
        mode: "enforce",
        policyLines: ["foreign_bpf: refuse_tracing", "foreign_bpf_allow: { uids: [0] }"],
      });
      try {
        assert.equal((await load("dump_environ")).loaded, true);
      } finally {
        await u.stop();
      }
    } finally {
      await Deno.remove(`/sys/fs/cgroup${cgroup}`).catch(() => {});
    }
  },
});
