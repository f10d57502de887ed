import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import { CAPABILITIES, resolveMigration } from "./capabilities.ts";
import { compressMethods } from "./compress.ts";

Deno.test("capabilities: xbzrle and compress are declared once, with defaults that apply only when on", () => {
  const names = CAPABILITIES.map((c) => c.name);
  assertEquals(names.filter((n) => n === "xbzrle").length, 1);
  assertEquals(names.filter((n) => n === "compress").length, 1);
  const off = resolveMigration({});
  assertEquals(off.errors, []);
  assertEquals(off.config.capabilities.xbzrle, false);
  assertEquals(off.config.capabilities.compress, false);
  assertEquals(off.config.xbzrleCacheSize, undefined);
  const on = resolveMigration({ capabilities: { xbzrle: true, compress: true } });
  assertEquals(on.errors, []);
  assertEquals(on.config.xbzrleCacheSize, 64 * 1024 * 1024);
  assertEquals(on.config.xbzrleOverflowBytes, 4032);
  assertEquals(on.config.compressMethod, "deflate");
  assertEquals(on.config.compressLevel, 1);
});

Deno.test("capabilities: parameters are parsed, and every bad one is listed at once", () => {
  const ok = resolveMigration({
    capabilities: { xbzrle: true, compress: true },
    parameters: {
      xbzrleCacheSize: "8MiB",
      xbzrleOverflowBytes: 2048,
      compressMethod: compressMethods().at(-1),
      compressLevel: 6,
    },
  });
  assertEquals(ok.errors, []);
  assertEquals(ok.config.xbzrleCacheSize, 8 * 1024 * 1024);
  const bad = resolveMigration({
    capabilities: { xbzrle: true, compress: true },
    parameters: {
      xbzrleCacheSize: "12KiB",
      xbzrleOverflowBytes: 0,
      compressMethod: "lz4",
      compressLevel: 10,
    },
  });
  assertEquals(bad.errors.length, 4, bad.errors.join("\n"));
  assertMatch(bad.errors[0], /^migration\.parameters\.xbzrleCacheSize: must be a power-of-two/);
  assertMatch(
    bad.errors[1],
    /^migration\.parameters\.xbzrleOverflowBytes: must be a whole number in 1\.\.4096/,
  );
  assertMatch(
    bad.errors[2],
    /^migration\.parameters\.compressMethod: must be one of "deflate", "zstd"/,
  );
  assertMatch(
    bad.errors[3],
    /^migration\.parameters\.compressLevel: must be a whole number in 1\.\.9/,
  );
  const notOn = resolveMigration({ parameters: { xbzrleCacheSize: "8MiB", compressLevel: 3 } });
  assertEquals(notOn.errors, [
    "migration.parameters.xbzrleCacheSize: belongs to capability xbzrle, which is not on",
    "migration.parameters.compressLevel: belongs to capability compress, which is not on",
  ]);
});

Deno.test("capabilities: a conflict declared by one side only is refused once, naming the pair and why", () => {
  // mappedRam is not built yet; declare it for the test, without conflicts of its own.
  CAPABILITIES.push({ name: "mappedRam", doc: "test", parameters: [], conflicts: [] });
  try {
    const r = resolveMigration({ capabilities: { xbzrle: true, compress: true, mappedRam: true } });
    assertEquals(r.errors.length, 2, r.errors.join("\n"));
    assertMatch(
      r.errors[0],
      /^migration\.capabilities: mappedRam and xbzrle cannot be combined: mapped-ram/,
    );
    assertMatch(
      r.errors[1],
      /^migration\.capabilities: compress and mappedRam cannot be combined: /,
    );
    assertOk(
      resolveMigration({ capabilities: { xbzrle: true, compress: true } }).errors.length === 0,
    );
  } finally {
    CAPABILITIES.pop();
  }
});
