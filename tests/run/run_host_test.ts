/**
 * `x00 run` on this host, where the kernel refuses BPF-LSM programs: enforce mode fails closed, audit mode runs
 * the workload with its secrets (env and sealed memfd) and the observe-only monitor, and supervision behaves
 * (exit codes, signals, stdio). Bad policies never start the workload.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const IN_VM = Deno.env.get("X00_VM") === "1";

async function lsmRefused(): Promise<boolean> {
  const r = await new Deno.Command("deno", {
    args: ["run", "-A", `${ROOT}mod.ts`, "doctor", "--json"],
    stdout: "piped",
  }).output();
  const report = JSON.parse(new TextDecoder().decode(r.stdout));
  return report.checks.find((c: { id: string }) => c.id === "bpf_lsm")?.ok === false;
}

async function x00(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; cwd?: string } = {},
) {
  const cmd = new Deno.Command("deno", {
    args: ["run", "-A", `${ROOT}mod.ts`, ...args],
    env: options.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = cmd.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await cmd.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

async function policyFile(text: string): Promise<{ dir: string; file: string }> {
  const dir = await Deno.makeTempDir({ prefix: "x00-run-" });
  const file = `${dir}/policy.yaml`;
  await Deno.writeTextFile(file, text);
  return { dir, file };
}

const SECRET = `s3cr3t-${crypto.randomUUID()}`;
const BOTH = (mode: string, extra = "") =>
  `policy:\n  mode: ${mode}\nsecrets:\n` +
  `  - name: db\n    source: { type: env, var: X00_T_SECRET }\n    delivery: { env: DB_PASSWORD }\n` +
  `  - name: db-file\n    source: { type: env, var: X00_T_SECRET }\n    delivery: { file: DB_PASSWORD_FILE }\n` +
  extra;

Deno.test({
  name:
    "x00 run --mode enforce fails closed where BPF-LSM is refused: workload not started, reason given",
  ignore: IN_VM,
  async fn() {
    assert.ok(await lsmRefused(), "this test expects a host that refuses BPF-LSM (x00 doctor)");
    const { dir, file } = await policyFile(BOTH("enforce"));
    const marker = `${dir}/started`;
    const r = await x00(["run", "--policy", file, "--", "sh", "-c", `touch ${marker}`], {
      env: { X00_T_SECRET: SECRET },
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /Cannot establish enforcement: .*BPF-LSM/);
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
    assert.throws(() => Deno.statSync(marker), "the workload must not run");
    assert.ok(!r.stderr.includes(SECRET) && !r.stdout.includes(SECRET));
  },
});

Deno.test({
  name:
    "x00 run (audit): the workload gets env and memfd secrets, the env source is withheld, exit code passes",
  ignore: IN_VM,
  async fn() {
    const { dir, file } = await policyFile(
      BOTH("audit", `audit:\n  output: ${"/tmp"}/x00-run-audit-${Date.now()}.jsonl\n`),
    );
    const script = [
      `printf 'env=%s\\n' "$DB_PASSWORD"`,
      `printf 'file=%s\\n' "$(cat "$DB_PASSWORD_FILE")"`,
      `printf 'path=%s\\n' "$DB_PASSWORD_FILE"`,
      `printf 'source=%s\\n' "\${X00_T_SECRET:-unset}"`,
      `printf 'token=%s\\n' "\${VAULT_TOKEN:-unset}"`,
      `printf 'write=%s\\n' "$( (echo x >> "$DB_PASSWORD_FILE") 2>/dev/null && echo yes || echo refused)"`,
      `read line; printf 'stdin=%s\\n' "$line"`,
      `exit 42`,
    ].join("; ");
    const r = await x00(["run", "--policy", file, "--", "sh", "-c", script], {
      env: { X00_T_SECRET: SECRET, VAULT_TOKEN: "hvs.should-not-leak" },
      stdin: "hello\n",
    });
    assert.equal(r.code, 42, r.stderr);
    assert.match(r.stdout, new RegExp(`^env=${SECRET}$`, "m"));
    assert.match(r.stdout, new RegExp(`^file=${SECRET}$`, "m"));
    assert.match(r.stdout, /^path=\/proc\/self\/fd\/\d+$/m);
    assert.match(r.stdout, /^source=unset$/m, "the env source variable is not inherited");
    assert.match(r.stdout, /^token=unset$/m, "VAULT_TOKEN is not inherited");
    assert.match(r.stdout, /^write=refused$/m, "the memfd is sealed");
    assert.match(r.stdout, /^stdin=hello$/m, "stdin passes through");
    assert.match(r.stderr, /WARNING: mode audit/);
    assert.ok(!r.stderr.includes(SECRET), "no secret on x00's stderr");
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "x00 run forwards SIGTERM to the workload and exits 128+15 when it dies of it",
  ignore: IN_VM,
  async fn() {
    const { file } = await policyFile(BOTH("audit"));
    const cmd = new Deno.Command("deno", {
      args: [
        "run",
        "-A",
        `${ROOT}mod.ts`,
        "run",
        "--policy",
        file,
        "--",
        "sh",
        "-c",
        "echo up; sleep 30 & wait",
      ],
      env: { X00_T_SECRET: SECRET },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = cmd.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("up\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    cmd.kill("SIGTERM");
    const status = await cmd.status;
    reader.releaseLock();
    await cmd.stdout.cancel().catch(() => {});
    await cmd.stderr.cancel();
    assert.equal(status.code, 143);
  },
});

Deno.test({
  name:
    "x00 run with a bad policy prints one FILE:LINE:COL line, exits 2 and never starts the workload",
  ignore: IN_VM,
  async fn() {
    const cases = [
      "policy:\n  mode: enforce\n  block_envrion_read: true\n", // typo
      "policy:\n  mode: [enforce\n", // syntax
      "", // empty
      "policy:\n  mode: enforce\nsecrets:\n  - name: a\n    source: { type: file, path: /nonexistent/x00 }\n" +
      "    delivery: { env: 1BAD }\n",
    ];
    for (const text of cases) {
      const { dir, file } = await policyFile(text);
      const marker = `${dir}/started`;
      const r = await x00(["run", "--policy", file, "--", "sh", "-c", `touch ${marker}`]);
      assert.equal(r.code, 2, `${JSON.stringify(text)}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0]!.includes(file), r.stderr);
      assert.throws(() => Deno.statSync(marker));
    }
  },
});

Deno.test({
  name: "x00 run with an unreadable secret file exits 5 and never starts the workload",
  ignore: IN_VM,
  async fn() {
    const { dir, file } = await policyFile(
      "policy:\n  mode: audit\nsecrets:\n  - name: a\n    source: { type: file, path: /nonexistent/x00 }\n" +
        "    delivery: { env: A }\n",
    );
    const marker = `${dir}/started`;
    const r = await x00(["run", "--policy", file, "--", "sh", "-c", `touch ${marker}`]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /secret 'a'.*\/nonexistent\/x00/);
    assert.throws(() => Deno.statSync(marker));
  },
});

Deno.test({
  name:
    "x00 run as PID 1 (container entrypoint) reaps the workload's orphaned descendants: no zombies",
  ignore: IN_VM,
  async fn() {
    const { file } = await policyFile(BOTH("audit"));
    const script =
      `(sleep 0.2 &); (sleep 0.2 &); sleep 2; echo zombies=$(ps -eo stat | grep -c '^Z')`;
    const o = await new Deno.Command("unshare", {
      args: [
        "--pid",
        "--fork",
        "--mount-proc",
        "deno",
        "run",
        "-A",
        `${ROOT}mod.ts`,
        "run",
        "--policy",
        file,
        "--",
        "sh",
        "-c",
        script,
      ],
      env: { X00_T_SECRET: SECRET },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(o.stdout);
    assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
    assert.match(out, /^zombies=0$/m);
  },
});

Deno.test({
  name:
    "x00 run of a workload that exits at once succeeds every time (its protection entry is already gone)",
  ignore: IN_VM,
  async fn() {
    const { file } = await policyFile(BOTH("audit"));
    for (let i = 0; i < 8; i++) {
      const r = await x00(["run", "--policy", file, "--", "true"], {
        env: { X00_T_SECRET: SECRET },
      });
      assert.equal(r.code, 0, r.stderr);
    }
  },
});

Deno.test({
  name: "x00 run never leaves its workload running when SIGTERM arrives during start-up",
  ignore: IN_VM,
  async fn() {
    const { file } = await policyFile(BOTH("audit"));
    for (const delayMs of [50, 150, 300, 600]) {
      const tag = `31.${Math.floor(Math.random() * 1e6)}`;
      const cmd = new Deno.Command("deno", {
        args: ["run", "-A", `${ROOT}mod.ts`, "run", "--policy", file, "--", "sleep", tag],
        env: { X00_T_SECRET: SECRET },
        stdout: "null",
        stderr: "null",
      }).spawn();
      await new Promise((r) => setTimeout(r, delayMs));
      cmd.kill("SIGTERM");
      const status = await cmd.status;
      // Before x00's code runs (Deno still starting) the signal ends it and nothing was started; afterwards x00
      // handles it: it does not start the workload, or forwards the signal to it, and exits 128+15.
      assert.ok(
        status.signal === "SIGTERM" || status.code === 143,
        `delay ${delayMs} ms: ${JSON.stringify(status)}`,
      );
      await new Promise((r) => setTimeout(r, 200));
      const left = await new Deno.Command("pgrep", {
        args: ["-f", `sleep ${tag}`],
        stdout: "piped",
      }).output();
      assert.equal(
        new TextDecoder().decode(left.stdout).trim(),
        "",
        `workload left running (delay ${delayMs} ms)`,
      );
    }
  },
});

function statusFields(text: string): Record<string, string> {
  return Object.fromEntries(
    text.split("\n").filter((l) => l.includes(":")).map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i), l.slice(i + 1).trim()];
    }),
  );
}

Deno.test({
  name:
    "x00 run: the workload holds a default container's capabilities, no_new_privs, no blocked signal",
  ignore: IN_VM,
  async fn() {
    const { file } = await policyFile("policy:\n  mode: audit\n");
    const r = await x00(["run", "--policy", file, "--", "cat", "/proc/self/status"]);
    assert.equal(r.code, 0, r.stderr);
    const s = statusFields(r.stdout);
    assert.equal(s.CapEff, "00000000a80425fb"); // no CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_SYS_PTRACE
    assert.equal(s.CapBnd, "00000000a80425fb");
    assert.equal(s.CapAmb, "0000000000000000");
    assert.equal(s.NoNewPrivs, "1");
    assert.equal(s.SigBlk, "0000000000000000");
  },
});

Deno.test({
  name:
    "x00 run: workload.user, groups and capabilities; a missing user is one line naming the field",
  ignore: IN_VM,
  async fn() {
    const { dir, file } = await policyFile(
      "policy:\n  mode: audit\nworkload:\n  user: nobody\n  groups: [44]\n  capabilities: [NET_BIND_SERVICE]\n",
    );
    await Deno.chmod(dir, 0o711);
    // The workload starts in x00's working directory: one nobody can enter, wherever the clone lives.
    const r = await x00(["run", "--policy", file, "--", "cat", "/proc/self/status"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const s = statusFields(r.stdout);
    assert.equal(s.Uid, "65534\t65534\t65534\t65534");
    assert.equal(s.Groups, "44");
    assert.equal(s.CapEff, "0000000000000400");
    assert.equal(s.CapAmb, "0000000000000400");
    assert.equal(s.NoNewPrivs, "1");

    const bad = await policyFile("policy:\n  mode: audit\nworkload:\n  user: no-such-user-x00\n");
    const b = await x00(["run", "--policy", bad.file, "--", "true"]);
    assert.equal(b.code, 2, b.stderr);
    assert.equal(
      b.stderr.trim(),
      `x00: ${bad.file}: workload.user: no user 'no-such-user-x00' in /etc/passwd`,
    );
  },
});

Deno.test({
  name:
    "x00 run: env sources and VAULT_TOKEN leave x00's environment (/proc/PID/environ) once read",
  ignore: IN_VM,
  async fn() {
    const { dir, file } = await policyFile(BOTH("audit"));
    const token = `hvs.${crypto.randomUUID()}`;
    const marker = `${dir}/started`;
    const child = new Deno.Command("deno", {
      args: ["run", "-A", `${ROOT}mod.ts`, "run", "--policy", file, "--"]
        .concat(["sh", "-c", `touch ${marker}; sleep 30`]),
      env: { X00_T_SECRET: SECRET, VAULT_TOKEN: token },
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      for (let i = 0; i < 300 && !(await Deno.stat(marker).catch(() => null)); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const environ = await Deno.readTextFile(`/proc/${child.pid}/environ`);
      assert.ok(!environ.includes(SECRET), "the env source's value is gone from x00's environ");
      assert.ok(!environ.includes(token), "VAULT_TOKEN's value is gone from x00's environ");
      assert.ok(environ.includes("X00_T_SECRET=\0"), "only the name is left, its value zeroed");
      assert.ok(environ.includes("PATH="), "the rest of the environment is untouched");
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
  },
});
