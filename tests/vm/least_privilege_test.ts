/**
 * Least privilege and "no listener, ever" (issue 7), in the VM: the workload's identity, capabilities and
 * no_new_privs as /proc/PID/status shows them; a root workload cannot use BPF; X00's supervisor cannot listen on
 * a network socket (kernel backstop); SIGUSR1 at any moment never opens a port. Skipped outside the VM.
 */
import assert from "node:assert/strict";
import { IN_VM, randomSecret, startProtected, x00Argv } from "./_x00.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function status(pid: number): Record<string, string> {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Object.fromEntries(
    text.split("\n").filter((l) => l.includes(":")).map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i), l.slice(i + 1).trim()];
    }),
  );
}

/** CAP_CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW,
 * SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP: a default container's set. */
const CONTAINER_CAPS = "00000000a80425fb";

for (const mode of ["enforce", "audit"] as const) {
  Deno.test({
    name:
      `x00 run (${mode}): a root workload holds a default container's capabilities, with no_new_privs`,
    ignore: !IN_VM,
    async fn() {
      const p = await startProtected({ mode, fork: true });
      try {
        for (const pid of [p.pid, p.child]) {
          const s = status(pid);
          assert.equal(s.CapEff, CONTAINER_CAPS, `CapEff of ${pid}`);
          assert.equal(s.CapPrm, CONTAINER_CAPS);
          assert.equal(s.CapBnd, CONTAINER_CAPS);
          assert.equal(s.CapInh, "0000000000000000");
          assert.equal(s.CapAmb, "0000000000000000");
          assert.equal(s.NoNewPrivs, "1");
          assert.equal(s.Uid, "0\t0\t0\t0");
        }
        // X00's main thread (its JavaScript, the fork of the workload) keeps only what it still needs once its
        // programs are loaded: CAP_BPF and CAP_SYS_PTRACE on top of a container's set; no CAP_SYS_ADMIN.
        const main = BigInt("0x" + status(p.x00Pid).CapEff);
        assert.equal(main, 0xa80425fbn | (1n << 39n) | (1n << 19n), main.toString(16));
      } finally {
        await p.stop();
      }
    },
  });
}

Deno.test({
  name:
    "x00 run (enforce): workload.user, group, groups and capabilities are what /proc/PID/status shows",
  ignore: !IN_VM,
  async fn() {
    const p = await startProtected({
      mode: "enforce",
      fork: true,
      extraYaml:
        "workload:\n  user: nobody\n  groups: [100, 44]\n  capabilities: [NET_BIND_SERVICE]\n",
    });
    try {
      for (const pid of [p.pid, p.child]) {
        const s = status(pid);
        assert.equal(s.Uid, "65534\t65534\t65534\t65534");
        assert.equal(s.Gid, "65534\t65534\t65534\t65534");
        assert.equal(s.Groups, "44 100");
        assert.equal(s.CapEff, "0000000000000400"); // CAP_NET_BIND_SERVICE
        assert.equal(s.CapPrm, "0000000000000400");
        assert.equal(s.CapAmb, "0000000000000400");
        assert.equal(s.CapBnd, "0000000000000400");
        assert.equal(s.NoNewPrivs, "1");
      }
      assert.ok(p.selfEnviron, "the workload still reads its own environment");
    } finally {
      await p.stop();
    }
  },
});

async function runWorkload(args: string[], extraYaml = ""): Promise<{ code: number; out: string }> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/p.yaml`, `policy:\n  mode: enforce\n${extraYaml}`);
  const r = await new Deno.Command("deno", {
    args: x00Argv("run", "--policy", `${dir}/p.yaml`, "--", ...args),
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout).trim() };
}

Deno.test({
  name:
    "x00 run (enforce): a root workload cannot reach BPF (no CAP_BPF, CAP_SYS_ADMIN, CAP_PERFMON)",
  ignore: !IN_VM,
  async fn() {
    const r = await runWorkload(["attack", "bpfid", "prog", "1"]);
    assert.equal(r.out, "ERR EPERM");
    // The same helper run by root outside X00 gets further than EPERM (ENOENT or a descriptor).
    const o = await new Deno.Command("attack", { args: ["bpfid", "prog", "1"], stdout: "piped" })
      .output();
    assert.notEqual(new TextDecoder().decode(o.stdout).trim(), "ERR EPERM");
  },
});

for (const mode of ["enforce", "audit"] as const) {
  Deno.test({
    name:
      `X00's supervisor may not listen on IPv4/IPv6 (kernel backstop, ${mode}); Unix sockets are fine`,
    ignore: !IN_VM,
    async fn() {
      const r = await new Deno.Command("deno", {
        args: [
          "run",
          "-A",
          "--no-check",
          "--cached-only",
          `${ROOT}tests/vm/_listen_probe.ts`,
          mode,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(r.stdout).trim();
      assert.equal(r.code, 0, text + new TextDecoder().decode(r.stderr));
      const v = JSON.parse(text);
      const want = mode === "enforce" ? "PermissionDenied" : "ok";
      assert.equal(v.inet, want);
      assert.equal(v.inet6, want);
      assert.equal(v.unix, "ok");
      const action = mode === "enforce" ? "denied" : "allowed";
      assert.deepEqual(v.events, [`net_listen/${action}/inet`, `net_listen/${action}/inet6`]);
    },
  });
}

/** Socket inodes of `pid` in LISTEN state on TCP (v4 and v6), and whether anything listens on port 9229. */
function listeners(pid: number): { own: string[]; port9229: boolean } {
  const listening = new Set<string>();
  let port9229 = false;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of Deno.readTextFileSync(file).split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== "0A") continue; // TCP_LISTEN
      listening.add(f[9]!);
      if (f[1]!.endsWith(":2405")) port9229 = true;
    }
  }
  const own: string[] = [];
  try {
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`));
        if (m && listening.has(m[1]!)) own.push(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // x00 is gone
  }
  return { own, port9229 };
}

/** Whether SIGUSR1 is set in the signal mask `field` (SigBlk, SigCgt, ...) of a /proc status file. */
function sigusr1In(statusPath: string, field: string): boolean {
  const s = Deno.readTextFileSync(statusPath);
  const mask = BigInt("0x" + (new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m").exec(s)?.[1] ?? "0"));
  return (mask & (1n << 9n)) !== 0n;
}

/** Whether SIGUSR1 is blocked in every thread of `pid` (false when it is gone). */
function sigusr1Blocked(pid: number): boolean {
  try {
    const tasks = [...Deno.readDirSync(`/proc/${pid}/task`)];
    return tasks.length > 0 &&
      tasks.every((t) => sigusr1In(`/proc/${pid}/task/${t.name}/status`, "SigBlk"));
  } catch {
    return false;
  }
}

/** Whether a child of `pid` catches SIGUSR1 (the workload's shell has set its trap). */
function childCatchesSigusr1(pid: number): boolean {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)
      .filter(Boolean).some((c) => sigusr1In(`/proc/${c}/status`, "SigCgt"));
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

for (const command of ["run", "audit"] as const) {
  Deno.test({
    name: `SIGUSR1 to x00 ${command} (enforce) at 0, 0.3, 1 and 5 s never opens a listening socket`,
    ignore: !IN_VM,
    async fn() {
      const dir = await Deno.makeTempDir();
      await Deno.writeTextFile(
        `${dir}/p.yaml`,
        "policy:\n  mode: enforce\nsecrets:\n" +
          "  - name: s\n    source: { type: env, var: X00_TEST_SECRET }\n    delivery: { env: S }\n" +
          `audit:\n  output: ${dir}/audit.jsonl\n`,
      );
      for (const delayMs of [0, 300, 1000, 5000]) {
        // Before x00 has re-executed itself with SIGUSR1 blocked (the first second or more under TCG), the
        // signal's default action ends it: nothing was fetched yet. After that it must be harmless to x00: read
        // from a signalfd and forwarded to the workload (or, before the workload runs, an exit with 128 + 10 and
        // no workload started), never the default action that kills the process.
        const got = `${dir}/usr1-${delayMs}`;
        // The workload traps SIGUSR1 (so the forwarded signal does not end it) and notes each one it gets.
        const workload = `trap 'echo usr1 >> ${got}' USR1; ` +
          `i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done`;
        const args = command === "run"
          ? ["run", "--policy", `${dir}/p.yaml`, "--", "sh", "-c", workload]
          : ["audit", "--duration", "30s", "--output", "/dev/null"];
        const child = new Deno.Command("deno", {
          args: x00Argv(...args),
          env: { X00_TEST_SECRET: randomSecret() },
          stdout: "null",
          stderr: "null",
        }).spawn();
        let exited: Deno.CommandStatus | undefined;
        child.status.then((s) => exited = s);
        try {
          await new Promise((r) => setTimeout(r, delayMs));
          let masked = sigusr1Blocked(child.pid);
          if (delayMs >= 5000) {
            // Re-executing takes a few seconds under TCG, more on a loaded host: the last round waits for it
            // (and, for x00 run, for the workload to have set its trap), so that a signal to the re-executed
            // x00 and its forwarding are always tried.
            const settled = () => masked && (command !== "run" || childCatchesSigusr1(child.pid));
            for (let i = 0; i < 600 && !settled() && !exited; i++) {
              await new Promise((r) => setTimeout(r, 100));
              masked = sigusr1Blocked(child.pid);
            }
            assert.ok(settled(), `x00 ${command} has blocked SIGUSR1 (waited up to 65 s)`);
          }
          try {
            Deno.kill(child.pid, "SIGUSR1");
          } catch {
            // gone already
          }
          await new Promise((r) => setTimeout(r, 2000));
          const l = listeners(child.pid);
          assert.deepEqual(l.own, [], `x00 ${command} listens after SIGUSR1 at ${delayMs} ms`);
          assert.equal(
            l.port9229,
            false,
            `something listens on 9229 after SIGUSR1 at ${delayMs} ms`,
          );
          if (masked) {
            // Never the signal's default action; an x00 run that got it before its workload ran exits 138.
            if (exited) {
              assert.equal(exited.signal, null, `x00 ${command} killed by ${exited.signal}`);
              assert.equal(command, "run", `x00 audit exited (${exited.code}) after SIGUSR1`);
              assert.equal(
                exited.code,
                128 + 10,
                `x00 run exit code after SIGUSR1 at ${delayMs} ms`,
              );
            }
          }
          if (delayMs >= 5000) {
            assert.ok(alive(child.pid), `x00 ${command} survives SIGUSR1 at ${delayMs} ms`);
            if (command === "run") {
              assert.equal(
                Deno.readTextFileSync(got),
                "usr1\n",
                "the workload got the forwarded SIGUSR1 once",
              );
            }
          }
        } finally {
          let children: string[] = [];
          try {
            children = Deno.readTextFileSync(`/proc/${child.pid}/task/${child.pid}/children`)
              .trim().split(/\s+/).filter(Boolean);
          } catch {
            // gone
          }
          for (const pid of [child.pid, ...children.map(Number)]) {
            try {
              Deno.kill(pid, "SIGKILL");
            } catch {
              // gone
            }
          }
          await child.status;
        }
      }
    },
  });
}
