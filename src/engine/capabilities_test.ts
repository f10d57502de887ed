import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import { CAPABILITIES, resolveMigration } from "./capabilities.ts";
import { compressMethods } from "./compress.ts";

Deno.test("capabilities: xbzrle and compress are declared once, every parameter holds its default", () => {
  const names = CAPABILITIES.map((c) => c.name);
  assertEquals(names.filter((n) => n === "xbzrle").length, 1);
  assertEquals(names.filter((n) => n === "compress").length, 1);
  const off = resolveMigration({});
  assertEquals(off.errors, []);
  assertEquals(off.config.capabilities.xbzrle, false);
  assertEquals(off.config.capabilities.compress, false);
  assertEquals(off.config.xbzrleCacheSize, 64 * 1024 * 1024);
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
  assertEquals(notOn.errors, []);
  assertEquals(notOn.warnings, [
    "migration.parameters.xbzrleCacheSize: unused, capability xbzrle is off",
    "migration.parameters.compressLevel: unused, capability compress is off",
  ]);
  assertEquals(notOn.config.xbzrleCacheSize, 8 * 1024 * 1024);
  assertEquals(
    resolveMigration({ parameters: { compressLevel: 30 } }).errors,
    ["migration.parameters.compressLevel: must be a whole number in 1..9, got 30"],
  );
});

Deno.test("capabilities: a conflict declared by one side only is refused once, naming the pair and why", () => {
  const decl = (name: string, conflicts: { with: string; why: string }[] = []) => ({
    name,
    doc: name,
    parameters: [],
    conflicts,
  });
  const table = [
    decl("a", [{ with: "c", why: "a writes what c reads" }]),
    decl("b", [{ with: "c", why: "b and c share a slot" }]),
    decl("c", [{ with: "b", why: "b and c share a slot" }]),
  ];
  const r = resolveMigration({ capabilities: { a: true, b: true, c: true } }, {
    capabilities: table,
  });
  assertEquals(r.errors, [
    "migration.capabilities: a and c cannot be combined: a writes what c reads",
    "migration.capabilities: b and c cannot be combined: b and c share a slot",
  ]);
  assertEquals(
    resolveMigration({ capabilities: { a: true, b: true } }, { capabilities: table }).errors,
    [],
  );
});

Deno.test("capabilities: every conflict names a capability of the table", () => {
  const names = new Set<string>(CAPABILITIES.map((c) => c.name));
  for (const c of CAPABILITIES) {
    for (const k of c.conflicts as readonly { with: string }[]) {
      assertOk(names.has(k.with), `${c.name} names ${k.with}, which is not a capability`);
    }
  }
});
