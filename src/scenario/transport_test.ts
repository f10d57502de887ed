import { assertEquals } from "../util/assert.ts";
import { resolveScenario } from "./validate.ts";

const BASE = { name: "t", mode: "sim", guest: { ram: "4MiB" } };
const resolve = (migration: Record<string, unknown>, patch: Record<string, unknown> = {}) =>
  resolveScenario({ ...BASE, migration, ...patch });

Deno.test("transport: tcp by default, a file with its path, size limit and bandwidth", () => {
  assertEquals(resolve({}).resolved?.transport, { kind: "tcp" });
  const r = resolve({
    capabilities: { mappedRam: true },
    transport: { kind: "file", path: "out.ferry", sizeLimit: "8MiB", bandwidth: "1GiB/s" },
  });
  assertEquals(r.errors, []);
  assertEquals(r.resolved?.transport, {
    kind: "file",
    path: "out.ferry",
    sizeLimitBytes: 8 * 1024 * 1024,
    bandwidthBytesPerSec: 1024 ** 3,
  });
  assertEquals(r.resolved?.migration.capabilities.mappedRam, true);
  // A stream to a file, without mappedRam, is allowed too.
  assertEquals(resolve({ transport: { kind: "file" } }).errors, []);
});

Deno.test("transport: mappedRam refuses xbzrle and compress, naming both, and needs a file", () => {
  const file = { kind: "file" };
  assertEquals(
    resolve({ capabilities: { mappedRam: true, xbzrle: true }, transport: file }).errors,
    [
      "migration.capabilities: mappedRam and xbzrle cannot be combined: a mapped-ram file holds each page whole at its offset; an XBZRLE delta has no place there",
    ],
  );
  assertEquals(
    resolve({ capabilities: { mappedRam: true, compress: true }, transport: file }).errors,
    [
      "migration.capabilities: compress and mappedRam cannot be combined: a mapped-ram file holds each page whole at its offset; a compressed batch has no fixed size",
    ],
  );
  assertEquals(resolve({ capabilities: { mappedRam: true } }).errors, [
    'migration.capabilities.mappedRam: needs migration.transport { kind: "file" }, got "tcp": pages are written at fixed offsets, so the transport must be a seekable file',
  ]);
});

Deno.test("transport: bad values, link faults and retry with a file are errors naming their field", () => {
  assertEquals(resolve({ transport: { kind: "disk" } }).errors, [
    'migration.transport.kind: must be "tcp" or "file", got "disk"',
  ]);
  assertEquals(resolve({ transport: { kind: "tcp", path: "x" } }).errors, [
    'migration.transport.path: only goes with kind "file"',
  ]);
  assertEquals(resolve({ transport: { kind: "file", path: "" } }).errors.length, 1);
  assertEquals(resolve({ transport: { kind: "file", sizeLimit: "lots" } }).errors.length, 1);
  const r = resolve({ transport: { kind: "file" } }, {
    faults: [{ at: { phase: "bulk" }, action: "cut-link" }, {
      at: { phase: "bulk" },
      action: "kill-source",
    }],
    retry: true,
  });
  assertEquals(r.errors.length, 2);
  assertEquals(r.errors[0].startsWith("faults[0].action: cut-link acts on the link"), true);
  assertEquals(r.errors[1], 'retry: not supported with migration.transport { kind: "file" }');
});
