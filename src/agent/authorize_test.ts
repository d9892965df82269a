import assert from "node:assert/strict";
import { authorize, type ClientIdentity, matches } from "./authorize.ts";

const id = (uid: number, gid = uid): ClientIdentity => ({
  tgid: 4242,
  uid,
  gid,
  cgroupId: 77n,
  family: 4242,
});

const CLIENTS = [
  { name: "web", uids: [1000] },
  { name: "job", gids: [2000], cgroups: ["/kubepods.slice/kubepods-podabc.slice"] },
];

Deno.test("authorize() picks the first client the kernel identity matches", () => {
  assert.deepEqual(authorize(CLIENTS, id(1000), "/", undefined), { ok: true, client: CLIENTS[0] });
  const pod = "/kubepods.slice/kubepods-podabc.slice/cri-containerd-1.scope";
  assert.deepEqual(authorize(CLIENTS, id(5, 2000), pod, undefined), {
    ok: true,
    client: CLIENTS[1],
  });
});

Deno.test("authorize() refuses an identity no client has, naming what the kernel saw", () => {
  assert.deepEqual(authorize(CLIENTS, id(0), "/system.slice", undefined), {
    ok: false,
    reason: "uid 0, gid 0, cgroup /system.slice matches no client",
  });
});

Deno.test("authorize() with a name: the identity must match that entry, not just any", () => {
  assert.deepEqual(authorize(CLIENTS, id(1000), "/", "job"), {
    ok: false,
    reason: "uid 1000, gid 1000, cgroup / is not client 'job'",
  });
  assert.equal(authorize(CLIENTS, id(1000), "/", "nope").ok, false);
  assert.equal(authorize(CLIENTS, id(1000), "/", "web").ok, true);
});

Deno.test("matches(): cgroup prefixes are whole path components, an unknown cgroup never matches", () => {
  const c = { name: "x", cgroups: ["/kubepods.slice/pod1"] };
  assert.equal(matches(c, id(1), "/kubepods.slice/pod1"), true);
  assert.equal(matches(c, id(1), "/kubepods.slice/pod1/ctr"), true);
  assert.equal(matches(c, id(1), "/kubepods.slice/pod10"), false);
  assert.equal(matches(c, id(1), undefined), false);
});
