import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { defaultCapabilities, resolveCredentials } from "./credentials.ts";

async function files() {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/passwd`,
    "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
  );
  await Deno.writeTextFile(
    `${dir}/group`,
    "root:x:0:\napp:x:1001:\naudio:x:29:app,bob\nvideo:x:44:bob\n",
  );
  return { passwd: `${dir}/passwd`, group: `${dir}/group` };
}

Deno.test("resolveCredentials() without a workload section keeps X00's identity, a container's caps", async () => {
  const c = resolveCredentials({}, await files());
  assert.deepEqual(c, { capabilities: defaultCapabilities(), ambient: false });
  assert.equal(c.capabilities, 0xa80425fbn);
});

Deno.test("resolveCredentials() takes a named user's group and groups from /etc/passwd and /etc/group", async () => {
  const c = resolveCredentials(
    { user: "app", capabilities: ["CAP_NET_BIND_SERVICE"] },
    await files(),
  );
  assert.deepEqual(c, { uid: 1000, gid: 1001, groups: [29], capabilities: 0x400n, ambient: true });
});

Deno.test("resolveCredentials() with numbers: no supplementary groups unless listed", async () => {
  const f = await files();
  assert.deepEqual(resolveCredentials({ user: 4242, group: 4242 }, f), {
    uid: 4242,
    gid: 4242,
    groups: [],
    capabilities: defaultCapabilities(),
    ambient: false,
  });
  assert.deepEqual(resolveCredentials({ user: 1000, groups: ["video", 7, "video"] }, f).groups, [
    44,
    7,
  ]);
});

Deno.test("resolveCredentials() names the field of an unknown user or group", async () => {
  const f = await files();
  assert.throws(() => resolveCredentials({ user: "nobody-here" }, f), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.message, `workload.user: no user 'nobody-here' in ${f.passwd}`);
    return true;
  });
  assert.throws(
    () => resolveCredentials({ user: 1000, groups: ["audio", "nope"] }, f),
    /^UsageError: workload\.groups\[1\]: no group 'nope'/,
  );
  assert.throws(
    () => resolveCredentials({ user: 4242 }, f),
    /workload\.group is required: workload\.user 4242 has no entry/,
  );
});
