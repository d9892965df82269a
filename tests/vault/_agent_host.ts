/**
 * `x00 agent` for the host tests: `deno run -A tests/vault/_agent_host.ts --policy FILE --socket PATH`. The same
 * runAgent() as the CLI (policy, Vault, fetching, serving, rotation, audit, failure lines), with one difference:
 * this host's kernel refuses BPF-LSM, so clients are identified by SO_PEERCRED and nothing is protected
 * (`x00 agent` itself has no such mode and fails closed; the kernel side is tested in tests/vm/sidecar_test.ts).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type AgentKernel, runAgent } from "../../src/cli/agent.ts";
import { reportFailure } from "../../src/cli/failure.ts";
import { cgroupId } from "../../src/protect/kernel_fs.ts";

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

const libc = Deno.dlopen("libc.so.6", {
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
});

/** The connected peer's pid, uid and gid (struct ucred), as the kernel recorded them at connect(). */
function peerCred(fd: number): { pid: number; uid: number; gid: number } | undefined {
  const cred = new Int32Array(3);
  const len = new Uint32Array([cred.byteLength]);
  if (libc.symbols.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len) !== 0) return undefined;
  return { pid: cred[0]!, uid: cred[1]!, gid: cred[2]! };
}

const kernel: AgentKernel = {
  registerAgentSocket() {},
  clientIdentity(fd) {
    const c = peerCred(fd);
    if (c === undefined || c.pid <= 0) return undefined;
    const path = /^0::(.*)$/m.exec(Deno.readTextFileSync(`/proc/${c.pid}/cgroup`))?.[1] ?? "/";
    return { tgid: c.pid, uid: c.uid, gid: c.gid, cgroupId: cgroupId(path), family: c.pid };
  },
  protectSecretFd() {},
  linkFds: () => [],
  unprotect() {},
};

const { values } = parseArgs({
  options: { policy: { type: "string" }, socket: { type: "string" } },
});
const stop = new AbortController();
Deno.addSignalListener("SIGTERM", () => stop.abort());
let code: number;
try {
  code = await runAgent({
    policyFile: values.policy!,
    socket: values.socket!,
    signal: stop.signal,
    protect: () => Promise.resolve({ monitor: kernel, family: Deno.pid, close: async () => {} }),
  });
} catch (e) {
  code = reportFailure(e, false);
}
Deno.exit(code);
