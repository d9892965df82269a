/**
 * X00 deployed as its security policy says (issue 9), in the VM: with exactly the capabilities the policy lists
 * (CAP_BPF, CAP_SYS_ADMIN, CAP_SYS_PTRACE: a container's `drop: [ALL], add: [...]`), and with a read-only root
 * file system. Skipped outside the VM.
 */
import assert from "node:assert/strict";
import { IN_VM, randomSecret, readEvents, x00Argv } from "./_x00.ts";

/** The security policy's capabilities, by number. */
const POLICY_CAPS = "39,21,19"; // CAP_BPF, CAP_SYS_ADMIN, CAP_SYS_PTRACE
const CAP_SETPCAP = "8";

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  return {
    code: r.code,
    stdout: new TextDecoder().decode(r.stdout),
    stderr: new TextDecoder().decode(r.stderr).trim(),
  };
}

async function policy(extra = "", base?: string): Promise<{ dir: string; file: string }> {
  const dir = await Deno.makeTempDir({ prefix: "x00-deploy-", ...(base ? { dir: base } : {}) });
  await Deno.chmod(dir, 0o755);
  const file = `${dir}/policy.yaml`;
  await Deno.writeTextFile(
    file,
    "policy:\n  mode: enforce\nsecrets:\n" +
      "  - name: s\n    source: { type: env, var: X00_TEST_SECRET }\n    delivery: { env: S }\n" +
      extra,
  );
  return { dir, file };
}

Deno.test({
  name: "x00 audit with exactly CAP_BPF, CAP_SYS_ADMIN and CAP_SYS_PTRACE sees execs",
  ignore: !IN_VM,
  async fn() {
    const { dir } = await policy();
    const out = `${dir}/audit.jsonl`;
    const audit = new Deno.Command("capexec", {
      args: [
        POLICY_CAPS,
        "deno",
        ...x00Argv("audit", "--duration", "20s", "--format", "json", "--output", out),
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let seen = false;
    for (let i = 0; i < 150 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 200));
      await run("/bin/true", []);
      seen = readEvents(out).some((e) => e.type === "exec" && e.filename === "/bin/true");
    }
    audit.kill("SIGINT");
    const status = await audit.status;
    const err = new TextDecoder().decode(await new Response(audit.stderr).arrayBuffer());
    assert.ok(seen, `x00 audit saw no exec: ${err}`);
    assert.equal(status.code, 0, err);
  },
});

Deno.test({
  name:
    "x00 run needs CAP_SETPCAP beyond the policy's three (one line, exit 77), and enforces with it",
  ignore: !IN_VM,
  async fn() {
    const { file } = await policy();
    const secret = randomSecret();
    const three = await run("capexec", [
      POLICY_CAPS,
      "deno",
      ...x00Argv("run", "--policy", file, "--", "sh", "-c", 'echo "got:$S"'),
    ], { X00_TEST_SECRET: secret });
    assert.equal(three.code, 77, three.stderr);
    assert.match(
      three.stderr,
      /^x00: x00 run needs CAP_SETPCAP \(to keep CAP_SYS_PTRACE and 2 more/,
    );
    assert.equal(three.stderr.split("\n").length, 1);
    assert.ok(!three.stdout.includes(secret), "the workload did not run");
    const four = await run("capexec", [
      `${POLICY_CAPS},${CAP_SETPCAP}`,
      "deno",
      ...x00Argv(
        "run",
        "--policy",
        file,
        "--",
        "sh",
        "-c",
        'echo "got:$S"; grep CapEff /proc/self/status',
      ),
    ], { X00_TEST_SECRET: secret });
    assert.equal(four.code, 0, four.stderr);
    assert.match(four.stdout, new RegExp(`^got:${secret}$`, "m"));
    // The workload holds none of X00's capabilities: the default set minus what X00 did not have.
    assert.match(
      four.stdout,
      /^CapEff:\t0000000000000100$/m,
      "only CAP_SETPCAP, of the default set",
    );
  },
});

Deno.test({
  name: "x00 agent serves a client with exactly CAP_BPF, CAP_SYS_ADMIN and CAP_SYS_PTRACE",
  ignore: !IN_VM,
  async fn() {
    const { dir, file } = await policy("clients:\n  - { name: app, uids: [0] }\n");
    const secret = randomSecret();
    const socket = `${dir}/agent.sock`;
    const agent = new Deno.Command("capexec", {
      args: [POLICY_CAPS, "deno", ...x00Argv("agent", "--policy", file, "--socket", socket)],
      env: { X00_TEST_SECRET: secret },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // The agent's stderr, for the message of a failure.
    const agentLog = new Response(agent.stderr).text();
    try {
      const r = await run("deno", [
        ...x00Argv("exec", "--socket", socket, "--wait", "120s", "--", "sh", "-c", 'echo "got:$S"'),
      ]);
      if (r.code !== 0) {
        agent.kill("SIGTERM");
        assert.fail(`x00 exec: ${r.stderr}\nx00 agent: ${await agentLog}`);
      }
      assert.equal(r.stdout.trim(), `got:${secret}`);
    } finally {
      try {
        agent.kill("SIGTERM");
      } catch {
        // already stopped
      }
      await agent.status;
      await agentLog;
    }
  },
});

Deno.test({
  name: "x00 run (enforce) on a read-only root file system writes nothing and works",
  ignore: !IN_VM,
  async fn() {
    // On the root file system itself (the guest's /tmp is a mount of its own, which a bind of / leaves out).
    const { dir, file } = await policy("", "/opt");
    const secret = randomSecret();
    const ro = `${dir}/ro`;
    await Deno.mkdir(ro);
    // A mount namespace whose root is a read-only bind of the guest's root (as readOnlyRootFilesystem does),
    // with /proc, /sys and /dev as a container has them. The audit output goes to stderr.
    const deno = x00Argv(
      "run",
      "--policy",
      file,
      "--",
      "sh",
      "-c",
      'echo "got:$S"; touch /x00-write-test',
    )
      .map((a) => `'${a}'`).join(" ");
    const script = [
      `mount --bind / ${ro}`,
      `mount -o remount,ro,bind ${ro}`,
      `mount -t proc proc ${ro}/proc`,
      `mount --rbind /sys ${ro}/sys`,
      `mount --rbind /dev ${ro}/dev`,
      `exec chroot ${ro} env X00_TEST_SECRET=${secret} deno ${deno}`,
    ].join(" && ");
    const r = await run("unshare", ["-m", "sh", "-c", script]);
    await Deno.remove(dir, { recursive: true });
    assert.match(r.stdout, new RegExp(`^got:${secret}$`, "m"), r.stderr);
    assert.match(
      r.stderr,
      /Read-only file system/,
      "the workload's own write fails: the root is read-only",
    );
    assert.ok(!/x00: .*(Read-only|EROFS)/.test(r.stderr), `x00 itself wrote nothing: ${r.stderr}`);
  },
});
