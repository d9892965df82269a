/**
 * The offline image's root file system (scripts/build_image.sh), run the way a container runtime would run it but
 * with chroot (running containers does not work on these machines): root mounted read-only, /proc, /sys and /dev
 * from the host, the image's entrypoint as the command. `x00 doctor`, `x00 audit` and `x00 run --mode audit` work;
 * the image has no shell. Builds the root file system first when it is missing.
 */
import assert from "node:assert/strict";
import { runtimeFlags } from "../runtime_flags.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const RFS = `${ROOT}build/image/rootfs`;
const ENTRYPOINT = [
  "/usr/local/bin/deno",
  "run",
  "--allow-all",
  "--cached-only",
  "--no-check",
  ...runtimeFlags(), // scripts/build_image.sh puts them in the entrypoint
  "/opt/x00/mod.ts",
];

async function ensureRootfs(): Promise<void> {
  try {
    Deno.statSync(`${RFS}/opt/x00/mod.ts`);
    return;
  } catch {
    // build it
  }
  const r = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/build_image.sh`, "--rootfs-only"],
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
}

/** Runs the image's entrypoint with `args` in a read-only chroot of the root file system. */
async function inImage(args: string[], env: Record<string, string> = {}) {
  const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;
  const vars = Object.entries({
    DENO_DIR: "/opt/x00/deno_dir",
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    PATH: "/usr/local/bin",
    ...env,
  }).map(([k, v]) => `${k}=${quote(v)}`).join(" ");
  const script = [
    `mount --bind ${RFS} ${RFS}`,
    `mount -o remount,ro,bind ${RFS}`,
    `mount -t proc proc ${RFS}/proc`,
    `mount --rbind /sys ${RFS}/sys`,
    `mount --rbind /dev ${RFS}/dev`,
    `exec env -i ${vars} /usr/sbin/chroot ${RFS} ${[...ENTRYPOINT, ...args].map(quote).join(" ")}`,
  ].join(" && ");
  const r = await new Deno.Command("unshare", {
    args: ["-m", "sh", "-c", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: r.code,
    stdout: new TextDecoder().decode(r.stdout),
    stderr: new TextDecoder().decode(r.stderr),
  };
}

Deno.test("the image has no shell and no package manager, and says how big it is", async () => {
  await ensureRootfs();
  for (
    const p of ["bin/sh", "bin/bash", "usr/bin/sh", "usr/bin/dash", "usr/bin/apt", "usr/bin/dpkg"]
  ) {
    assert.throws(() => Deno.lstatSync(`${RFS}/${p}`), `/${p} must not exist`);
  }
  const du = await new Deno.Command("du", { args: ["-sm", RFS], stdout: "piped" }).output();
  const mib = Number(new TextDecoder().decode(du.stdout).split("\t")[0]);
  console.log(`image root file system: ${mib} MiB`);
  assert.ok(mib > 50 && mib < 200, `${mib} MiB`);
});

Deno.test("x00 doctor in the image (read-only root) reports this host: audit only, exit 3", async () => {
  await ensureRootfs();
  const r = await inImage(["doctor"]);
  assert.equal(r.code, 3, r.stderr + r.stdout);
  assert.match(r.stdout, /^ok {3}libbpf: /m);
  assert.match(r.stdout, /^verdict: audit only/m);
});

Deno.test("x00 audit in the image (read-only root) reports execs for a few seconds and exits 0", async () => {
  await ensureRootfs();
  const busy = new Deno.Command("sh", {
    args: ["-c", "for i in $(seq 60); do /bin/true; sleep 0.1; done"],
  }).spawn();
  const r = await inImage(["audit", "--duration", "4s", "--format", "json", "--no-access"]);
  await busy.status;
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(
    events.some((e) => e.type === "exec" && e.filename === "/bin/true"),
    r.stdout.slice(0, 500),
  );
  assert.equal(events.at(-1).type, "summary");
});

Deno.test("x00 run --mode audit in the image (read-only root) delivers a secret to a workload", async () => {
  await ensureRootfs();
  const secret = `s-${crypto.randomUUID()}`;
  // The read-only image has nowhere to put a policy: it is bind-mounted read-only, as a ConfigMap would be.
  const policy = "policy:\n  mode: audit\nsecrets:\n" +
    "  - name: s\n    source: { type: env, var: X00_T }\n    delivery: { file: S_FILE }\n";
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/policy.yaml`, policy);
  const script = await inImageWithPolicy(`${dir}/policy.yaml`, secret);
  assert.equal(script.code, 0, script.stderr);
  assert.match(script.stdout, new RegExp(`^got:${secret}$`, "m"));
  assert.ok(!script.stderr.includes(secret), "the secret is in no log line");
});

/** Like inImage for `run`, with the policy file bind-mounted read-only at /run/policy.yaml. */
async function inImageWithPolicy(policyFile: string, secret: string) {
  const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;
  const argv = [
    ...ENTRYPOINT,
    "run",
    "--policy",
    "/run/policy.yaml",
    "--",
    "/usr/local/bin/deno",
    "eval",
    'console.log("got:" + Deno.readTextFileSync(Deno.env.get("S_FILE")))',
  ];
  const script = [
    `mount --bind ${RFS} ${RFS}`,
    `mount -t tmpfs tmpfs ${RFS}/run`,
    `touch ${RFS}/run/policy.yaml`,
    `mount --bind ${quote(policyFile)} ${RFS}/run/policy.yaml`,
    `mount -o remount,ro,bind ${RFS}`,
    `mount -t proc proc ${RFS}/proc`,
    `mount --rbind /sys ${RFS}/sys`,
    `mount --rbind /dev ${RFS}/dev`,
    `exec env -i DENO_DIR=/opt/x00/deno_dir DENO_NO_UPDATE_CHECK=1 NO_COLOR=1 PATH=/usr/local/bin ` +
    `X00_T=${quote(secret)} /usr/sbin/chroot ${RFS} ${argv.map(quote).join(" ")}`,
  ].join(" && ");
  const r = await new Deno.Command("unshare", {
    args: ["-m", "sh", "-c", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: r.code,
    stdout: new TextDecoder().decode(r.stdout),
    stderr: new TextDecoder().decode(r.stderr),
  };
}
