/**
 * Drives the kernel backstop of "X00 never listens" in the VM: loads X00's BPF-LSM object the way `x00 run` does,
 * registers this process as X00's supervisor, then tries to listen on TCP (IPv4, IPv6) and on a Unix socket.
 *   deno run -A tests/vm/_listen_probe.ts enforce|audit
 * Prints one JSON line: {"inet":"ok"|ERROR,"inet6":...,"unix":...,"events":[resource/action...]}.
 *
 * @module
 */
import { decodeAccessEvent } from "../../src/events/access_event.ts";
import { AccessMonitor } from "../../src/protect/access_monitor.ts";
import { EventLoop } from "../../src/protect/event_loop.ts";

const mode = Deno.args[0] === "audit" ? "audit" : "enforce";
const monitor = await AccessMonitor.start({
  enforce: mode === "enforce",
  auditAll: false,
  allowFallback: false,
});
monitor.protectSelf(Deno.pid, true);
const events: string[] = [];
const loop = new EventLoop();
loop.add(monitor.object.map("access_events"), (d) => {
  const e = decodeAccessEvent(d, { mode });
  events.push(`${e.resource}/${e.action}/${e.address_family ?? ""}`);
});
const attempt = (options: Deno.ListenOptions | Deno.UnixListenOptions & { transport: "unix" }) => {
  try {
    Deno.listen(options as Deno.ListenOptions & { transport?: "tcp" }).close();
    return "ok";
  } catch (e) {
    return (e as Error).name;
  }
};
const dir = Deno.makeTempDirSync();
const result = {
  inet: attempt({ hostname: "127.0.0.1", port: 0 }),
  inet6: attempt({ hostname: "::1", port: 0 }),
  unix: attempt({ transport: "unix", path: `${dir}/s` }),
  events,
};
const stop = new AbortController();
setTimeout(() => stop.abort(), 1000);
await loop.run({ signal: stop.signal });
loop.free();
await monitor.closeAsync();
console.log(JSON.stringify(result));
