/**
 * The access fallback (bpf/access_monitor.bpf.c) against a reference build of it, in one run: load, attach and
 * detach times, and what its programs cost unrelated work on the whole machine while attached. Used by
 * bench/fallback_bench.sh, which builds the helpers and extracts the reference object from git.
 *
 * ```sh
 * deno run --allow-all bench/fallback_bench.ts --ref REF.bpf.o --new NEW.bpf.o [--rounds 10] \
 *   [--syscall-bin bench_syscall --openclose-bin bench_openclose --file README.md]
 * ```
 *
 * Each round takes the configurations in an order that alternates (none, ref, new / new, ref, none / ...). For
 * `ref` and `new` it times `bpf_object__load`, the attach of every program (as LoadedObject.attachAll), then
 * with the programs attached runs `bench_syscall` (getppid loop) and `bench_openclose` (open+close of a regular
 * file), then times the detach as `x00 run` does it (every link destroyed concurrently on worker threads, then
 * `bpf_object__close`) and the same detach done one link after the other. Prints one `BENCH` line per sample
 * and a summary (medians; costs as ratios to the `none` block of the same round).
 *
 * @module
 */
import { BpfObject } from "../src/protect/libbpf.ts";

function arg(name: string, fallback?: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  const v = i >= 0 ? Deno.args[i + 1] : fallback;
  if (v === undefined) {
    console.error(`fallback_bench: --${name} is required`);
    Deno.exit(2);
  }
  return v;
}

const objects = { ref: await Deno.readFile(arg("ref")), new: await Deno.readFile(arg("new")) };
const rounds = Number(arg("rounds", "10"));
const syscallBin = arg("syscall-bin", "bench_syscall");
const openBin = arg("openclose-bin", "bench_openclose");
const file = arg("file", "README.md");
const syscallN = arg("syscall-n", "2000000");
const openN = arg("open-n", "200000");

async function nsPerOp(cmd: string, args: string[]): Promise<number> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped" }).output();
  const m = new TextDecoder().decode(out.stdout).match(/ns_per_op=([\d.]+)/);
  if (!out.success || !m) throw new Error(`${cmd} failed`);
  return Number(m[1]);
}

type Config = "none" | "ref" | "new";
type Sample = {
  load?: number;
  attach?: number;
  links?: number;
  detach?: number;
  syscall: number;
  openclose: number;
};
const samples: Record<Config, Sample[]> = { none: [], ref: [], new: [] };

async function block(config: Config, sequential: boolean): Promise<Sample> {
  if (config === "none") {
    return {
      syscall: await nsPerOp(syscallBin, [syscallN]),
      openclose: await nsPerOp(openBin, [openN, file]),
    };
  }
  let t = performance.now();
  const obj = BpfObject.openMem(objects[config], "access_monitor");
  obj.load();
  const load = performance.now() - t;
  t = performance.now();
  const links = obj.programs().filter((p) => p.section !== "raw_tp").map((p) => p.attach());
  const attach = performance.now() - t;
  const syscall = await nsPerOp(syscallBin, [syscallN]);
  const openclose = await nsPerOp(openBin, [openN, file]);
  t = performance.now();
  if (sequential) { for (const l of links) l.destroy(); }
  else await Promise.all(links.map((l) => l.destroyAsync()));
  obj.close();
  const detach = performance.now() - t;
  return { load, attach, links: links.length, detach, syscall, openclose };
}

const orders: Config[][] = [
  ["none", "ref", "new"],
  ["new", "ref", "none"],
  ["ref", "none", "new"],
  [
    "none",
    "new",
    "ref",
  ],
];
const seqDetach: Record<"ref" | "new", number[]> = { ref: [], new: [] };
const ratios: Record<"ref" | "new", { syscall: number[]; openclose: number[] }> = {
  ref: { syscall: [], openclose: [] },
  new: { syscall: [], openclose: [] },
};
for (let r = 0; r < rounds; r++) {
  const got: Partial<Record<Config, Sample>> = {};
  for (const c of orders[r % orders.length]!) {
    const s = await block(c, false);
    got[c] = s;
    samples[c].push(s);
    console.log(`BENCH sample round=${r} config=${c} ${JSON.stringify(s)}`);
  }
  for (const c of ["ref", "new"] as const) {
    ratios[c].syscall.push(got[c]!.syscall / got.none!.syscall);
    ratios[c].openclose.push(got[c]!.openclose / got.none!.openclose);
  }
  // The same detach one link after the other (what a synchronous close() does), every other round.
  if (r % 2 === 0) {
    for (const c of r % 4 === 0 ? ["ref", "new"] as const : ["new", "ref"] as const) {
      const s = await block(c, true);
      seqDetach[c].push(s.detach!);
      console.log(`BENCH sequential round=${r} config=${c} ${JSON.stringify(s)}`);
    }
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f = (x: number, d = 1) => x.toFixed(d);
console.log(`\n| | ref | new | new / ref |\n| --- | ---: | ---: | ---: |`);
const LABELS = {
  load: "load ms",
  attach: "attach ms",
  detach: "detach ms (links destroyed concurrently, as x00 run)",
} as const;
for (const k of ["load", "attach", "detach"] as const) {
  const a = median(samples.ref.map((s) => s[k]!));
  const b = median(samples.new.map((s) => s[k]!));
  console.log(`| ${LABELS[k]} | ${f(a)} | ${f(b)} | ${f(b / a, 3)} |`);
}
{
  const a = median(seqDetach.ref);
  const b = median(seqDetach.new);
  console.log(`| detach ms, one link after the other | ${f(a)} | ${f(b)} | ${f(b / a, 3)} |`);
}
console.log(`| links | ${samples.ref[0]?.links} | ${samples.new[0]?.links} | |`);
for (const k of ["syscall", "openclose"] as const) {
  const none = median(samples.none.map((s) => s[k]));
  const a = median(ratios.ref[k]);
  const b = median(ratios.new[k]);
  console.log(
    `| ${k} ns/op: none ${f(none)}; attached / none (median of per-round ratios) | ${f(a, 3)} | ${
      f(b, 3)
    } | |`,
  );
}
console.log(`\nrounds=${rounds} loadavg=${(await Deno.readTextFile("/proc/loadavg")).trim()}`);
