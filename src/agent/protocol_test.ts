import assert from "node:assert/strict";
import { encode, parseRequest, parseResponse, ProtocolError } from "./protocol.ts";

Deno.test("parseRequest() takes version 1 with an optional name and nothing else", () => {
  assert.deepEqual(parseRequest(encode({ v: 1 })), { v: 1 });
  assert.deepEqual(parseRequest(encode({ v: 1, name: "web" })), { v: 1, name: "web" });
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(parseRequest(enc('{"v":1,"name":"a","env":{"X":"y"}}')), { v: 1, name: "a" });
  assert.throws(() => parseRequest(enc("not json")), ProtocolError);
  assert.throws(() => parseRequest(enc('{"v":2}')), /not version 1/);
  assert.throws(() => parseRequest(enc('{"v":1,"name":5}')), /name is not a string/);
  assert.throws(() => parseRequest(new Uint8Array([0xff, 0xfe])), /not JSON/);
});

Deno.test("parseResponse() checks that the descriptors that arrived are the ones announced", () => {
  const ok = encode({ v: 1, ok: true, client: "web", env: { A: "1" }, files: ["F"], links: 5 });
  const body = ok.subarray(0, ok.length - 1);
  assert.deepEqual(parseResponse(body, 6), {
    v: 1,
    ok: true,
    client: "web",
    env: { A: "1" },
    files: ["F"],
    links: 5,
  });
  assert.throws(() => parseResponse(body, 5), /malformed/);
  const no = encode({ v: 1, ok: false, error: "not authorized" });
  assert.deepEqual(parseResponse(no.subarray(0, no.length - 1), 0), {
    v: 1,
    ok: false,
    error: "not authorized",
  });
  const bad = new TextEncoder().encode(
    '{"v":1,"ok":true,"client":"x","env":{"A":1},"files":[],"links":0}',
  );
  assert.throws(() => parseResponse(bad, 0), /malformed/);
});
