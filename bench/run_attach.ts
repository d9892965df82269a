/**
 * Holds a chosen subset of lsm_file_protect's programs attached (enforce configuration, as `x00 run` loads it)
 * until SIGTERM/SIGINT, so bench/run_vm_guest.sh can tell which hooks cost what on unrelated work.
 *
 * ```sh
 * deno run --allow-all bench/run_attach.ts lsm-only|tracepoints-only|all [--toggle]
 * ```
 *
 * - `all`: every program `x00 run` attaches (LSM hooks, the procfs fentry/fexit labels, fork/exit tp_btf).
 * - `lsm-only`: the same (the object has no syscall tracepoints any more; kept for older result files).
 * - `tracepoints-only`: fork/exit tp_btf only, without the LSM hooks and the procfs labels.
 *
 * Prints `ATTACHED <n> programs (CONFIG)` once attached. With `--toggle` it loads but does not attach, prints
 * `LOADED`, and then attaches on SIGHUP (printing `ATTACHED ...`) and detaches on SIGUSR2 (printing `DETACHED`),
 * so that runs with and without the hooks can alternate quickly (bench/run_vm_guest.sh, part 5).
 *
 * @module
 */
import { LoadedObject } from "../src/protect/loaded_object.ts";

const SYSCALL_TPS: string[] = [];
/** Every program but fork/exit and register_self (which attaches nowhere). */
const LSM = (await LoadedObject.programsOf("lsm_file_protect")).map((p) => p.name).filter((n) =>
  !["inherit_protection", "forget_protection", "register_self"].includes(n)
);

const which = Deno.args[0] ?? "all";
const skip = which === "lsm-only"
  ? SYSCALL_TPS
  : which === "tracepoints-only"
  ? LSM
  : which === "all"
  ? []
  : undefined;
if (!skip) {
  console.error("usage: run_attach.ts all|lsm-only|tracepoints-only");
  Deno.exit(2);
}
const obj = await LoadedObject.load("lsm_file_protect", {
  rodata: { enforce: true, audit_all: false },
  skip,
});
const attach = () => {
  obj.attachAll();
  console.log(`ATTACHED ${obj.links.length} programs (${which})`);
};
if (Deno.args.includes("--toggle")) {
  console.log("LOADED");
  Deno.addSignalListener("SIGHUP", () => {
    if (obj.links.length === 0) attach();
  });
  Deno.addSignalListener("SIGUSR2", () => {
    obj.detach();
    console.log("DETACHED");
  });
} else attach();
const done = Promise.withResolvers<void>();
Deno.addSignalListener("SIGTERM", () => done.resolve());
Deno.addSignalListener("SIGINT", () => done.resolve());
await done.promise;
obj.close();
