import assert from "node:assert/strict";
import { parse } from "yaml";
import { parsePolicy } from "../../src/policy/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function scan(...files: string[]) {
  const r = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/scan_secrets.sh`, ...files],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

Deno.test("scan_secrets.sh finds a private key and a Vault token, and passes the tree", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = `${dir}/config.txt`;
    await Deno.writeTextFile(
      bad,
      "a\n-----BEGIN RSA PRIVATE KEY-----\nb\ntoken: hvs." + "A".repeat(24) + "\n",
    );
    const clean = `${dir}/clean.txt`;
    await Deno.writeTextFile(clean, "nothing to see\n");
    const r = await scan(bad, clean);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${bad}:2: matches a credential pattern`));
    assert.match(r.stderr, new RegExp(`${bad}:4: matches a credential pattern`));
    assert.ok(!r.stderr.includes("clean.txt"));
    assert.equal((await scan()).code, 0, "the committed tree is clean");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy/kubernetes: policies load, containers drop ALL and use a read-only root", async () => {
  for (const name of ["run-example.yaml", "audit-daemonset.yaml", "sidecar.yaml"]) {
    const text = await Deno.readTextFile(`${ROOT}deploy/kubernetes/${name}`);
    const docs = text.split(/^---$/m).map((d) => parse(d) as Record<string, unknown>);
    for (const doc of docs) {
      const data = (doc.data ?? {}) as Record<string, string>;
      if (data["policy.yaml"]) {
        const policy = parsePolicy(data["policy.yaml"], `${name}:policy.yaml`);
        assert.equal(policy.policy.mode, "enforce");
        if (name === "sidecar.yaml") {
          assert.ok(policy.clients && policy.clients.length > 0, "the agent names its clients");
        } else {
          assert.notEqual(policy.workload.user, undefined, "the app does not run as X00's user");
        }
      }
      const spec = (doc.spec ?? {}) as Record<string, unknown>;
      const pod = ((spec.template as Record<string, unknown>)?.spec ?? spec) as {
        containers?: { securityContext?: Record<string, unknown> }[];
        initContainers?: { securityContext?: Record<string, unknown> }[];
      };
      for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
        const sc = c.securityContext ?? {};
        assert.equal(sc.readOnlyRootFilesystem, true, name);
        assert.equal(sc.allowPrivilegeEscalation, false, name);
        assert.deepEqual((sc.capabilities as { drop: string[] }).drop, ["ALL"], name);
      }
    }
  }
});
