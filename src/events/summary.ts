/**
 * Aggregates events for the end-of-run summary of `x00 audit`: events per type, top executed binaries, every
 * access attempt grouped by accessor and target, lost events.
 *
 * @module
 */
import type { AuditEvent } from "./types.ts";

/** One accessor -> target group. */
export interface AccessGroup {
  accessor: string;
  target: string;
  resources: Record<string, number>;
  actions: Record<string, number>;
  count: number;
}

/** The summary as data (also the `summary` JSON line). */
export interface SummaryData {
  type: "summary";
  duration_seconds: number;
  events: Record<string, number>;
  top_binaries: { filename: string; count: number }[];
  accesses: AccessGroup[];
  lost_events: Record<string, number>;
}

/** Collects events into a summary. */
export class Summary {
  readonly #started = performance.now();
  readonly #events: Record<string, number> = {};
  readonly #binaries = new Map<string, number>();
  readonly #access = new Map<string, AccessGroup>();
  readonly #lost: Record<string, number> = {};

  /** Counts one event. */
  add(e: AuditEvent): void {
    this.#events[e.type] = (this.#events[e.type] ?? 0) + 1;
    if (e.type === "exec") {
      this.#binaries.set(e.filename, (this.#binaries.get(e.filename) ?? 0) + 1);
    } else if (e.type === "access") {
      const accessor = `${e.accessor.comm}[${e.accessor.pid}] uid=${e.accessor.uid}` +
        (e.accessor.exe ? ` ${e.accessor.exe}` : "");
      const target = e.target ? `${e.target.comm}[${e.target.pid}]` : "protected secret file";
      const key = `${accessor}\u0000${target}`;
      let g = this.#access.get(key);
      if (!g) {
        g = { accessor, target, resources: {}, actions: {}, count: 0 };
        this.#access.set(key, g);
      }
      g.count++;
      g.resources[e.resource] = (g.resources[e.resource] ?? 0) + 1;
      g.actions[e.action] = (g.actions[e.action] ?? 0) + 1;
    } else if (e.type === "lost_events") {
      this.#lost[e.source] = e.count;
    }
  }

  /** The summary so far. */
  data(topN = 10): SummaryData {
    return {
      type: "summary",
      duration_seconds: Math.round((performance.now() - this.#started) / 100) / 10,
      events: { ...this.#events },
      top_binaries: [...this.#binaries.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN)
        .map(([filename, count]) => ({ filename, count })),
      accesses: [...this.#access.values()].sort((a, b) => b.count - a.count),
      lost_events: { exec: 0, access: 0, ...this.#lost },
    };
  }

  /** The summary as readable text. */
  text(topN = 10): string {
    const d = this.data(topN);
    const lines = [`--- x00 audit summary (${d.duration_seconds}s) ---`];
    const types = Object.entries(d.events).map(([t, n]) => `${t}=${n}`).join(" ");
    lines.push(`events: ${types || "none"}`);
    lines.push(`lost events: exec=${d.lost_events.exec} access=${d.lost_events.access}`);
    if (d.top_binaries.length) {
      lines.push("top executed binaries:");
      for (const b of d.top_binaries) lines.push(`  ${String(b.count).padStart(6)}  ${b.filename}`);
    }
    lines.push(
      d.accesses.length ? "access attempts (accessor -> target):" : "access attempts: none",
    );
    for (const g of d.accesses) {
      const res = Object.entries(g.resources).map(([r, n]) => `${r}x${n}`).join(",");
      const act = Object.entries(g.actions).map(([a, n]) => `${a}x${n}`).join(",");
      lines.push(`  ${String(g.count).padStart(6)}  ${g.accessor} -> ${g.target}  ${res}  ${act}`);
    }
    return lines.join("\n");
  }
}
