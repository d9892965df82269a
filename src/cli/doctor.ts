/**
 * `x00 doctor`: what this kernel and these privileges allow. Exit 0 when `enforce` is possible, 3 when only
 * `audit` is, 4 when BPF is unusable.
 *
 * @module
 */
import { ExitCode } from "../errors.ts";
import { type DoctorReport, runProbes } from "../protect/probe.ts";

/** Formats a report for a terminal. */
export function formatReport(r: DoctorReport): string {
  const lines = [`x00 doctor: kernel ${r.kernel}`];
  for (const c of r.checks) {
    lines.push(`${c.ok ? "ok  " : "FAIL"} ${c.title}: ${c.detail}`);
    for (const p of c.programs ?? []) {
      lines.push(
        `     ${p.ok ? "ok  " : "FAIL"} program ${p.name} (${p.section})${
          p.ok ? "" : `: ${p.reason}`
        }`,
      );
    }
    if (!c.ok) {
      if (c.impact) lines.push(`     breaks: ${c.impact}`);
      if (c.fix) lines.push(`     fix: ${c.fix}`);
    }
  }
  lines.push(
    r.capability === "enforce"
      ? "verdict: enforce mode is possible"
      : r.capability === "audit"
      ? "verdict: audit only — enforce mode is NOT possible on this kernel (see FAIL lines)"
      : "verdict: BPF is unusable here — neither audit nor enforce works (see FAIL lines)",
  );
  return lines.join("\n");
}

/** The exit code for a report. */
export function doctorExitCode(r: DoctorReport): number {
  return r.capability === "enforce"
    ? ExitCode.OK
    : r.capability === "audit"
    ? ExitCode.NO_ENFORCE
    : ExitCode.NO_BPF;
}

/** Runs `x00 doctor`; returns the exit code. */
export async function runDoctor(options: { json: boolean }): Promise<number> {
  const report = await runProbes();
  console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return doctorExitCode(report);
}
