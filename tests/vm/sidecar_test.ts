/**
 * The sidecar form (issue 8), in the VM: `x00 agent` holds the secrets, an unprivileged `x00 exec` (uid 65534, no
 * capabilities) connects, is identified and protected by the kernel at connect time, receives an env value and a
 * sealed memfd, and becomes the workload in place. Attacks as root from outside are refused; an unauthorized
 * process gets nothing; without an agent the command never runs. Skipped outside the VM.
 */
import assert from "node:assert/strict";
import { VaultTestServer } from "../vault/server.ts";
import { attack, IN_VM, randomSecret, readEvents, waitForEvent, x00Argv } from "./_x00.ts";

interface Agent {
  dir: string;
  socket: string;
  secret: string;
  process: Deno.ChildProcess;
  events(): Record<string, unknown>[];
  stop(): Promise<void>;
}

async function startAgent(
  mode: "enforce" | "audit",
  clients: string,
  options: { secretsYaml?: string; extraYaml?: string; env?: Record<string, string> } = {},
): Promise<Agent> {
  const dir = await Deno.makeTempDir({ prefix: "x00-agent-" });
  await Deno.chmod(dir, 0o755);
  const secret = randomSecret();
  const socket = `${dir}/agent.sock`;
  await Deno.writeTextFile(
    `${dir}/policy.yaml`,
    `policy:\n  mode: ${mode}\nsecrets:\n` +
      (options.secretsYaml ??
        `  - name: db\n    source: { type: env, var: X00_TEST_SECRET }\n    delivery: { env: DB_PASSWORD }\n` +
          `  - name: db-file\n    source: { type: env, var: X00_TEST_SECRET }\n    delivery: { file: DB_PASSWORD_FILE }\n`) +
      `audit:\n  output: ${dir}/audit.jsonl\n` + (options.extraYaml ?? "") +
      `clients:\n${clients}`,
  );
  const process = new Deno.Command("deno", {
    args: x00Argv("agent", "--policy", `${dir}/policy.yaml`, "--socket", socket),
    env: { X00_TEST_SECRET: secret, ...options.env },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  for (let i = 0; i < 1200; i++) {
    try {
      if (Deno.lstatSync(socket).isSocket) break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(Deno.lstatSync(socket).isSocket, "the agent's socket appears");
  return {
    dir,
    socket,
    secret,
    process,
    events: () => readEvents(`${dir}/audit.jsonl`),
    async stop() {
      try {
        process.kill("SIGTERM");
      } catch {
        // gone
      }
      await process.status;
      await process.stderr.cancel().catch(() => {});
    },
  };
}

/** `x00 exec` as uid/gid 65534 (no capabilities) around `holder`; resolves with the READY fields. */
async function execHolder(
  agent: Agent,
  extra: string[] = [],
  env: Record<string, string> = { SECRET_ENV: "DB_PASSWORD", SECRET_FILE_VAR: "DB_PASSWORD_FILE" },
) {
  const child = new Deno.Command("deno", {
    args: x00Argv("exec", "--socket", agent.socket, ...extra, "--", "holder"),
    uid: 65534,
    gid: 65534,
    cwd: "/",
    env: { ...env, HOME: "/" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + 120_000;
  while (!text.includes("\n") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  const ready = text.split("\n")[0] ?? "";
  const field = (k: string) => Number(new RegExp(`${k}=(-?\\d+)`).exec(ready)?.[1]);
  return { child, ready, field };
}

Deno.test({
  name:
    "x00 agent + x00 exec (enforce): an unprivileged client receives its secrets and root cannot read them",
  ignore: !IN_VM,
  async fn() {
    const agent = await startAgent("enforce", "  - { name: app, uids: [65534] }\n");
    try {
      const { child, ready, field } = await execHolder(agent);
      try {
        assert.match(ready, /^READY /, `holder did not start: ${ready}`);
        const pid = field("pid");
        assert.equal(field("self_environ"), 1, "the workload reads its own environment");
        // Same process: x00 exec became the workload (pid and protection carried over).
        assert.equal(pid, child.pid);
        const status = Deno.readTextFileSync(`/proc/${pid}/status`);
        assert.match(status, /^Uid:\t65534\t65534\t65534\t65534$/m);
        assert.match(status, /^CapEff:\t0000000000000000$/m);
        assert.match(status, /^SigBlk:\t0000000000000000$/m);
        assert.ok(!Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("mod.ts"), "no X00 left");
        for (
          const args of [
            ["open", `/proc/${pid}/environ`],
            ["open", `/proc/${pid}/mem`, String(field("addr")), String(field("len"))],
            ["open", `/proc/${pid}/fd/${field("fd")}`],
            ["seize", String(pid)],
            ["pvm", String(pid), String(field("addr")), String(field("len"))],
            ["getfd", String(pid), String(field("fd"))],
          ]
        ) {
          const r = await attack(...args);
          assert.ok(!r.ok, `${args.join(" ")} must be refused: ${r.text}`);
          assert.ok(!r.text.includes(agent.secret));
        }
        const served = agent.events().find((e) => e.type === "client" && e.action === "served");
        assert.ok(served, "a client served event");
        assert.equal(served.client, "app");
        assert.equal(served.pid, pid);
        assert.equal(served.uid, 65534);
        assert.ok(
          await waitForEvent(agent, (e) =>
            e.type === "access" && e.action === "denied" &&
            (e.target as { pid: number } | undefined)?.pid === pid),
          "denials name the workload",
        );
        // No network listener: the agent's sockets are Unix sockets only.
        const tcp = ["/proc/net/tcp", "/proc/net/tcp6"].flatMap((f) =>
          Deno.readTextFileSync(f).split("\n").slice(1).filter((l) =>
            l.trim().split(/\s+/)[3] === "0A"
          )
        );
        assert.deepEqual(tcp, [], "nothing listens on TCP");

        // SIGKILL of the agent: the workload holds the agent's links, so it stays protected.
        agent.process.kill("SIGKILL");
        await agent.process.status;
        await new Promise((r) => setTimeout(r, 500));
        const after = await attack("open", `/proc/${pid}/environ`);
        assert.ok(!after.ok, `after the agent died: ${after.text}`);
      } finally {
        child.kill("SIGKILL");
        await child.status;
        await child.stderr.cancel().catch(() => {});
        await child.stdout.cancel().catch(() => {});
      }
    } finally {
      await agent.stop();
    }
  },
});

async function execTrue(agent: { socket: string }, extra: string[] = []) {
  const marker = `/tmp/x00-exec-ran-${crypto.randomUUID()}`;
  const r = await new Deno.Command("deno", {
    args: x00Argv(
      "exec",
      "--socket",
      agent.socket,
      ...extra,
      "--",
      "/bin/sh",
      "-c",
      `touch ${marker}`,
    ),
    stdout: "piped",
    stderr: "piped",
  }).output();
  let ran = true;
  try {
    Deno.statSync(marker);
  } catch {
    ran = false;
  }
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr).trim(), ran };
}

Deno.test({
  name:
    "x00 agent serves a template over a client's secrets as a protected memfd; a client without them gets none",
  ignore: !IN_VM,
  async fn() {
    const agent = await startAgent(
      "enforce",
      "  - { name: app, uids: [65534], secrets: [db] }\n  - { name: ops, uids: [0], secrets: [other] }\n",
      {
        secretsYaml:
          `  - name: db\n    source: { type: env, var: X00_TEST_SECRET }\n    delivery: { env: DB_PASSWORD }\n` +
          `  - name: other\n    source: { type: env, var: X00_TEST_SECRET }\n    delivery: { env: OTHER }\n`,
        extraYaml:
          `templates:\n  - name: dsn\n    template: "pw={{ db }}"\n    delivery: { file: DB_PASSWORD_FILE }\n`,
      },
    );
    try {
      const { child, ready, field } = await execHolder(agent);
      try {
        assert.match(ready, /^READY /, `holder did not start: ${ready}`);
        const pid = field("pid");
        assert.equal(field("len"), agent.secret.length + 3, "the rendered template: pw=SECRET");
        for (
          const args of [
            ["open", `/proc/${pid}/fd/${field("fd")}`],
            ["open", `/proc/${pid}/mem`, String(field("addr")), String(field("len"))],
            ["getfd", String(pid), String(field("fd"))],
          ]
        ) {
          const r = await attack(...args);
          assert.ok(!r.ok, `${args.join(" ")} must be refused: ${r.text}`);
          assert.ok(!r.text.includes(agent.secret));
        }
        const r = await execTrue(agent, ["--name", "ops"]);
        assert.equal(r.code, 0, r.stderr);
        const delivered = agent.events().filter((e) => e.type === "secret_delivered");
        assert.deepEqual(
          delivered.filter((e) => e.pid === pid).map((e) => e.secret).sort(),
          ["db", "dsn"],
        );
        assert.deepEqual(
          delivered.filter((e) => e.pid !== pid).map((e) => e.secret),
          ["other"],
          "a client without db gets no template over it",
        );
      } finally {
        child.kill("SIGKILL");
        await child.status;
        await child.stdout.cancel().catch(() => {});
        await child.stderr.cancel().catch(() => {});
      }
    } finally {
      await agent.stop();
    }
  },
});

Deno.test({
  name:
    "x00 agent refuses a process the policy does not name: one line, exit 3, the command never runs",
  ignore: !IN_VM,
  async fn() {
    const agent = await startAgent("enforce", "  - { name: app, uids: [4242] }\n");
    try {
      const r = await execTrue(agent);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.ran, false);
      assert.match(
        r.stderr,
        /^x00: x00 agent refused: not authorized: uid 0, gid 0, cgroup .* matches no client$/,
      );
      assert.ok(!r.stderr.includes(agent.secret));
      const named = await execTrue(agent, ["--name", "app"]);
      assert.match(named.stderr, /is not client 'app'$/);
      const refused = agent.events().filter((e) => e.type === "client" && e.action === "refused");
      assert.equal(refused.length, 2);
      assert.equal(refused[0]!.uid, 0);
      assert.equal(agent.events().filter((e) => e.type === "secret_delivered").length, 0);
    } finally {
      await agent.stop();
    }
  },
});

Deno.test({
  name: "x00 exec without an agent waits --wait, exits 3 with one line and never runs the command",
  ignore: !IN_VM,
  async fn() {
    const t0 = Date.now();
    const r = await execTrue({ socket: "/run/x00-no-agent.sock" }, ["--wait", "1s"]);
    assert.equal(r.code, 3);
    assert.equal(r.ran, false);
    assert.ok(Date.now() - t0 >= 1000);
    assert.match(
      r.stderr,
      /^x00: x00 agent is not reachable at \/run\/x00-no-agent.sock after 1000 ms/,
    );
    assert.equal(r.stderr.split("\n").length, 1);
  },
});

Deno.test({
  name: "x00 agent (audit): the client is served and root's read of it is allowed and logged",
  ignore: !IN_VM,
  async fn() {
    const agent = await startAgent("audit", "  - { name: app, uids: [65534], secrets: [db] }\n");
    try {
      const { child, ready, field } = await execHolder(agent);
      try {
        assert.match(ready, /^READY /, ready);
        const pid = field("pid");
        const r = await attack("open", `/proc/${pid}/environ`);
        assert.ok(r.ok && r.text.includes(agent.secret), "audit mode does not block");
        const delivered = agent.events().filter((e) => e.type === "secret_delivered");
        assert.deepEqual(delivered.map((e) => e.secret), ["db"], "only the client's secrets");
        assert.ok(
          await waitForEvent(
            agent,
            (e) =>
              e.type === "access" && e.action === "allowed" && e.resource === "environ" &&
              (e.target as { pid: number } | undefined)?.pid === pid,
          ),
          "the read is logged",
        );
      } finally {
        child.kill("SIGKILL");
        await child.status;
        await child.stderr.cancel().catch(() => {});
        await child.stdout.cancel().catch(() => {});
      }
    } finally {
      await agent.stop();
    }
  },
});

/** `x00 exec` (as root) around a shell script; returns the process and a line reader. */
function execShell(agent: Agent, script: string) {
  const child = new Deno.Command("deno", {
    args: x00Argv("exec", "--socket", agent.socket, "--", "/bin/sh", "-c", script),
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const nextLine = async (timeoutMs = 60_000): Promise<string | undefined> => {
    const end = Date.now() + timeoutMs;
    while (!buf.includes("\n")) {
      const timer = new Promise<"t">((r) =>
        setTimeout(() => r("t"), Math.max(0, end - Date.now()))
      );
      const got = await Promise.race([reader.read(), timer]);
      if (got === "t" || got.done) return undefined;
      buf += got.value;
    }
    const i = buf.indexOf("\n");
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return line;
  };
  return { child, nextLine };
}

for (const action of ["restart", "signal"] as const) {
  Deno.test({
    name: `x00 agent rotation (on_change: ${action}): a Vault change ${
      action === "restart"
        ? "stops the served process; the next x00 exec gets the new value"
        : "signals it"
    }`,
    ignore: !IN_VM,
    async fn() {
      const vault = await VaultTestServer.start({});
      const first = `v1-${crypto.randomUUID()}`;
      const second = `v2-${crypto.randomUUID()}`;
      vault.putKvV2("secret", "app", { password: first });
      const agent = await startAgent("enforce", "  - { name: app, uids: [0] }\n", {
        secretsYaml:
          "  - name: db\n    source: { type: vault, engine: kv-v2, mount: secret, path: app, key: password }\n" +
          "    delivery: { env: DB_PASSWORD }\n",
        extraYaml: `vault:\n  address: ${vault.address}\n  allow_insecure: true\n` +
          `rotation:\n  on_change: ${action}\n${action === "signal" ? "  signal: SIGHUP\n" : ""}` +
          "  poll_interval: 1s\n  grace_period: 3s\n",
        env: { VAULT_TOKEN: vault.rootToken },
      });
      try {
        const w = execShell(
          agent,
          'echo "value=$DB_PASSWORD"; trap "echo stopping; exit 0" TERM; trap "echo reload" HUP; ' +
            "while :; do sleep 0.2; done",
        );
        try {
          assert.equal(await w.nextLine(), `value=${first}`);
          vault.putKvV2("secret", "app", { password: second });
          if (action === "restart") {
            assert.equal(await w.nextLine(20_000), "stopping");
            const status = await w.child.status;
            assert.equal(status.code, 0);
            const again = execShell(agent, 'echo "value=$DB_PASSWORD"');
            assert.equal(await again.nextLine(), `value=${second}`);
            await again.child.status;
          } else {
            assert.equal(await w.nextLine(20_000), "reload");
            // The running process keeps what it received; new clients get the new value.
            const again = execShell(agent, 'echo "value=$DB_PASSWORD"');
            assert.equal(await again.nextLine(), `value=${second}`);
            await again.child.status;
          }
        } finally {
          try {
            w.child.kill("SIGKILL");
          } catch {
            // gone
          }
          await w.child.status;
        }
      } finally {
        await agent.stop();
        await vault.close();
      }
    },
  });
}

Deno.test({
  name:
    "x00 agent (enforce) serves a Vault PKI certificate and its key to an unprivileged client; root cannot read " +
    "the key; a renewal stops the client and the next one gets the new certificate",
  ignore: !IN_VM,
  async fn() {
    const vault = await VaultTestServer.start({});
    vault.addPkiRole("web", {
      allowed_domains: ["example.com"],
      allow_subdomains: true,
      key_type: "ec",
    });
    // Renewal at half of 40 s: time enough, under TCG, to serve a client and attack it first.
    const agent = await startAgent("enforce", "  - { name: app, uids: [65534, 0] }\n", {
      secretsYaml:
        "  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, " +
        "common_name: app.example.com, ttl: 40s, renew_fraction: 0.5 }\n" +
        "    keys:\n      certificate: { env: TLS_CERT }\n      private_key: { file: TLS_KEY_FILE }\n" +
        "      serial_number: { env: TLS_SERIAL }\n",
      extraYaml: `vault:\n  address: ${vault.address}\n  allow_insecure: true\n` +
        "rotation:\n  on_change: restart\n  grace_period: 2s\n",
      env: { VAULT_TOKEN: vault.rootToken },
    });
    try {
      const first = vault.pki().issued[0];
      assert.ok(first, "a certificate was issued at start-up");
      const keyLines = first.privateKey.split("\n").filter((l) =>
        l.length > 20 && !l.startsWith("-----")
      );
      const { child, ready, field } = await execHolder(agent, [], {
        SECRET_FILE_VAR: "TLS_KEY_FILE",
      });
      try {
        assert.match(ready, /^READY /, `holder did not start: ${ready}`);
        const pid = field("pid");
        assert.ok(field("len") > 100, "the client read its private key from the sealed memfd");
        for (
          const args of [
            ["open", `/proc/${pid}/fd/${field("fd")}`],
            ["open", `/proc/${pid}/environ`],
            ["open", `/proc/${pid}/mem`, String(field("addr")), String(field("len"))],
            ["pvm", String(pid), String(field("addr")), String(field("len"))],
            ["getfd", String(pid), String(field("fd"))],
          ]
        ) {
          const r = await attack(...args);
          assert.ok(!r.ok, `${args.join(" ")} must be refused: ${r.text}`);
          for (const line of keyLines) assert.ok(!r.text.includes(line), "no line of the key");
        }
        // The renewal stops the served client (on_change: restart) ...
        const stopped = await Promise.race([
          child.status,
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 90_000)),
        ]);
        assert.ok(stopped, "the client is stopped when the certificate is renewed");
      } finally {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
        await child.status;
        await child.stderr.cancel().catch(() => {});
        await child.stdout.cancel().catch(() => {});
      }
      // ... and the next client gets the new certificate.
      const again = execShell(agent, 'echo "serial=$TLS_SERIAL"');
      const line = await again.nextLine();
      await again.child.status;
      const serials = vault.pki().issued.map((i) => i.serial);
      assert.ok(serials.length >= 2, "a second certificate was issued");
      assert.equal(line, `serial=${serials.at(-1)}`);
      assert.notEqual(serials.at(-1), first.serial);
      const text = Deno.readTextFileSync(`${agent.dir}/audit.jsonl`);
      for (const l of keyLines) assert.ok(!text.includes(l), "no line of the key in the audit log");
    } finally {
      await agent.stop();
      await vault.close();
    }
  },
});
