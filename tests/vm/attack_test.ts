/**
 * The attack suite (issue 3): a protected workload holds a known secret; an unrelated root process attacks it
 * through every kernel path. Enforce: the attack fails (EACCES/EPERM, as the kernel really reports it) and a
 * `denied` audit event names the attacker. Audit: the attack succeeds and an `allowed` event is logged.
 * Runs in the VM (BPF-LSM kernel); skipped elsewhere.
 */
import assert from "node:assert/strict";
import { accessBy, attack, IN_VM, type Protected, startProtected, waitForEvent } from "./_x00.ts";

const DENIED = /^ERR (EACCES|EPERM)$/;

/** One attack path: how to run it, and which resource the audit event names. */
interface Path {
  name: string;
  resource: string;
  run(p: Protected): Promise<{ ok: boolean; text: string }>;
  /** Target pid in the event (default: the holder). */
  target?(p: Protected): number | undefined;
  /** Whether a successful attack returns the secret bytes (audit mode check). */
  revealsSecret: boolean;
}

async function memfdMapFile(p: Protected): Promise<string> {
  const maps = await Deno.readTextFile(`/proc/${p.pid}/maps`);
  const line = maps.split("\n").find((l) => l.includes("memfd:x00"));
  if (!line) throw new Error(`no memfd mapping in /proc/${p.pid}/maps`);
  return `/proc/${p.pid}/map_files/${line.split(" ")[0]}`;
}

const PATHS: Path[] = [
  {
    name: "/proc/PID/environ",
    resource: "environ",
    revealsSecret: true,
    run: (p) => attack("open", `/proc/${p.pid}/environ`),
  },
  {
    name: "/proc/PID/task/TID/environ",
    resource: "environ",
    revealsSecret: true,
    run: (p) => attack("open", `/proc/${p.pid}/task/${p.pid}/environ`),
  },
  {
    name: "/proc/PID/mem",
    resource: "mem",
    revealsSecret: true,
    run: (p) => attack("open", `/proc/${p.pid}/mem`, String(p.addr), String(p.len)),
  },
  {
    name: "/proc/PID/task/TID/mem",
    resource: "mem",
    revealsSecret: true,
    run: (p) => attack("open", `/proc/${p.pid}/task/${p.pid}/mem`, String(p.addr), String(p.len)),
  },
  {
    name: "environ through a second procfs mount",
    resource: "environ",
    revealsSecret: true,
    async run(p) {
      const dir = await Deno.makeTempDir();
      await new Deno.Command("mount", { args: ["-t", "proc", "proc", dir] }).output();
      try {
        return await attack("open", `${dir}/${p.pid}/environ`);
      } finally {
        await new Deno.Command("umount", { args: [dir] }).output();
      }
    },
  },
  {
    name: "environ through a symlink",
    resource: "environ",
    revealsSecret: true,
    async run(p) {
      const link = `${await Deno.makeTempDir()}/innocent`;
      await Deno.symlink(`/proc/${p.pid}/environ`, link);
      return await attack("open", link);
    },
  },
  {
    name: "ptrace(PTRACE_SEIZE)",
    resource: "ptrace",
    revealsSecret: false,
    run: (p) => attack("seize", String(p.pid)),
  },
  {
    name: "ptrace(PTRACE_ATTACH)",
    resource: "ptrace",
    revealsSecret: false,
    run: (p) => attack("attach", String(p.pid)),
  },
  {
    name: "process_vm_readv",
    resource: "process_vm_readv",
    revealsSecret: true,
    run: (p) => attack("pvm", String(p.pid), String(p.addr), String(p.len)),
  },
  {
    name: "process_vm_writev",
    resource: "process_vm_writev",
    revealsSecret: false,
    run: (p) => attack("pvw", String(p.pid), String(p.addr)),
  },
  {
    name: "pidfd_getfd of the secret memfd",
    resource: "pidfd_getfd",
    revealsSecret: true,
    run: (p) => attack("getfd", String(p.pid), String(p.fd)),
  },
  {
    name: "reopen of the secret memfd through /proc/PID/fd/N",
    resource: "secret_file",
    revealsSecret: true,
    run: (p) => attack("open", `/proc/${p.pid}/fd/${p.fd}`),
  },
  {
    name: "reopen of the secret memfd through /proc/PID/map_files/",
    resource: "secret_file",
    revealsSecret: true,
    run: async (p) => attack("open", await memfdMapFile(p)),
  },
  {
    name: "reopen of the secret memfd through /proc/PID/task/PID/fd/N",
    resource: "secret_file",
    revealsSecret: true,
    run: (p) => attack("open", `/proc/${p.pid}/task/${p.pid}/fd/${p.fd}`),
  },
  {
    name: "/proc/CHILD/environ of a forked grandchild",
    resource: "environ",
    revealsSecret: true,
    target: (p) => p.child,
    run: (p) => attack("open", `/proc/${p.child}/environ`),
  },
];

function eventMatches(path: Path, p: Protected, action: string) {
  const target = path.target ? path.target(p) : p.pid;
  return (e: Record<string, unknown>) =>
    accessBy(path.resource, target)(e) && e.action === action &&
    (e.accessor as { comm?: string }).comm === "attack" &&
    (e.accessor as { uid?: number }).uid === 0;
}

for (const mode of ["enforce", "audit"] as const) {
  Deno.test({
    name: `x00 run (${mode}): every attack path is ${
      mode === "enforce" ? "denied" : "allowed"
    } and logged`,
    ignore: !IN_VM,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const p = await startProtected({ mode, fork: true });
      try {
        await t.step("the workload reads its own environ, mem and secret file", () => {
          assert.ok(p.selfEnviron, "own /proc/self/environ");
          assert.ok(p.selfMem, "own /proc/self/mem");
          assert.equal(p.len, p.secret.length, "secret read from env and memfd");
          assert.ok(p.fd > 2, "memfd number");
          assert.ok(p.child > 0, "forked grandchild");
        });
        for (const path of PATHS) {
          await t.step(path.name, async () => {
            const r = await path.run(p);
            if (mode === "enforce") {
              assert.match(r.text, DENIED, `${path.name} must be refused`);
              const e = await waitForEvent(p, eventMatches(path, p, "denied"));
              assert.ok(e, `denied ${path.resource} event for ${path.name}`);
              assert.equal(e.mode, "enforce");
            } else {
              assert.ok(r.ok, `${path.name} must succeed in audit mode: ${r.text}`);
              if (path.revealsSecret) {
                assert.ok(r.text.includes(p.secret), `${path.name} returns the secret`);
              }
              assert.ok(
                await waitForEvent(p, eventMatches(path, p, "allowed")),
                `allowed event for ${path.name}`,
              );
            }
          });
        }
        for (const tool of ["strace", "gdb"]) {
          const which = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] })
            .output();
          if (!which.success) continue;
          await t.step(`${tool} -p`, async () => {
            const args = tool === "strace"
              ? ["-p", String(p.pid), "-e", "trace=none", "-o", "/dev/null"]
              : ["-p", String(p.pid), "-batch", "-ex", "detach"];
            const cmd = new Deno.Command(tool, { args, stdout: "piped", stderr: "piped" }).spawn();
            const timer = setTimeout(() => cmd.kill("SIGKILL"), 20_000);
            if (tool === "strace" && mode === "audit") setTimeout(() => cmd.kill("SIGINT"), 2000);
            const out = await cmd.output();
            clearTimeout(timer);
            const text = new TextDecoder().decode(out.stderr) +
              new TextDecoder().decode(out.stdout);
            if (mode === "enforce") {
              assert.match(
                text,
                /Operation not permitted|ptrace: Operation not permitted/,
                `${tool}: ${text}`,
              );
            }
            assert.ok(await waitForEvent(p, accessBy("ptrace", p.pid)), `${tool} attach logged`);
          });
        }
      } finally {
        const { output } = await p.stop();
        assert.ok(!output.includes(p.secret), "x00's output never contains the secret");
        const audit = await Deno.readTextFile(p.auditFile);
        assert.ok(!audit.includes(p.secret), "audit events never contain the secret");
        const delivered = p.events().filter((e) => e.type === "secret_delivered").map((e) => e.var);
        assert.deepEqual(delivered.sort(), ["DB_PASSWORD", "DB_PASSWORD_FILE"]);
      }
    },
  });
}

Deno.test({
  name:
    "open_by_handle_at cannot reach a secret memfd by inode: the internal shmem mount has no file handles (audit mode)",
  ignore: !IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // X00 guards secret memfds where their links are followed (/proc/P/fd/N, map_files), not on every open: the
    // other way to open an inode without a path, a file handle, must not exist for memfds. Audit mode, so that
    // nothing X00 does is what refuses it.
    const p = await startProtected({ mode: "audit" });
    try {
      const r = await attack("handle", `/proc/${p.pid}/fd/${p.fd}`);
      assert.match(
        r.text,
        /^NOHANDLE name=EOPNOTSUPP open=E[A-Z]+$/,
        `no file handle of a memfd, none forged either: ${r.text}`,
      );
      assert.ok(!r.text.includes(p.secret));
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  name: "x00 run (enforce): protection of the workload can be switched off per resource",
  ignore: !IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const p = await startProtected({ mode: "enforce", flags: { block_environ_read: false } });
    try {
      const env = await attack("open", `/proc/${p.pid}/environ`);
      assert.ok(
        env.ok && env.text.includes(p.secret),
        "environ readable when block_environ_read is false",
      );
      assert.match(
        (await attack("pvm", String(p.pid), String(p.addr), String(p.len))).text,
        DENIED,
      );
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  name:
    "x00 run (enforce): the x00 supervisor itself is protected, even from its own workload's family",
  ignore: !IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const p = await startProtected({ mode: "enforce" });
    try {
      assert.match((await attack("open", `/proc/${p.x00Pid}/environ`)).text, DENIED);
      assert.match((await attack("pvm", String(p.x00Pid), "4096", "8")).text, DENIED);
    } finally {
      await p.stop();
    }
  },
});

Deno.test({
  name: "x00 run (enforce): a crashing workload leaves no core dump",
  ignore: !IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const p = await startProtected({ mode: "enforce" });
    const dir = p.auditFile.replace(/\/[^/]+$/, "");
    Deno.kill(p.pid, "SIGSEGV");
    // Let x00 see the crash and exit on its own (stop() would race a SIGTERM against the SIGSEGV).
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([p.process.status, new Promise((r) => timer = setTimeout(r, 30_000))]);
    clearTimeout(timer);
    const { code } = await p.stop();
    assert.equal(code, 128 + 11, "x00 exits with 128+SIGSEGV");
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.ok(!files.some((f) => f.startsWith("core")), `no core file: ${files.join(", ")}`);
  },
});

Deno.test({
  name: "x00 run: after a run the secret is in no file written on any file system of the VM",
  ignore: !IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Every file created or modified during the run (rootfs, /tmp, /run, /dev/shm, ...) is searched for the secret;
    // files older than the run cannot hold a value that did not exist before it.
    const marker = await Deno.makeTempFile({ prefix: "x00-before-run-" });
    await new Promise((r) => setTimeout(r, 1100)); // mtime granularity
    const p = await startProtected({ mode: "enforce", fork: true });
    assert.ok((await attack("open", `/proc/${p.pid}/environ`)).text.startsWith("ERR"));
    await p.stop();
    // Each writable file system on its own (-xdev), so no pseudo file system (a stray procfs mount) is walked.
    const find = await new Deno.Command("find", {
      args: ["/", "/tmp", "/run", "/dev/shm", "-xdev", "-type", "f", "-newer", marker, "-print"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const files = new TextDecoder().decode(find.stdout).split("\n").filter(Boolean);
    assert.ok(files.includes(p.auditFile), "the audit log was written during the run");
    const hits: string[] = [];
    for (const f of files) {
      try {
        const text = new TextDecoder().decode(await Deno.readFile(f));
        if (text.includes(p.secret)) hits.push(f);
      } catch {
        // vanished or unreadable (sockets, fifos are not -type f)
      }
    }
    assert.deepEqual(hits, [], `secret found in: ${hits.join(", ")}`);
  },
});
