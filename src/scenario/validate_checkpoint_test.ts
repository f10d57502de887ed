import { assertEquals } from "../util/assert.ts";
import { resolveScenario } from "./validate.ts";

const BASE = { name: "t", migration: { capabilities: { hashDedup: true } } };

Deno.test("validate: destination.checkpoint resolves a guest copy or a file", () => {
  const g = resolveScenario({
    ...BASE,
    warmupMs: 300,
    destination: { checkpoint: { source: "guest", atMs: 100 } },
  });
  assertEquals(g.errors, []);
  assertEquals(g.resolved?.checkpoint, { source: "guest", atMs: 100 });
  const f = resolveScenario({
    ...BASE,
    destination: { checkpoint: { source: "file", path: "a.elf", format: "elf" } },
  });
  assertEquals(f.errors, []);
  assertEquals(f.resolved?.checkpoint, { source: "file", path: "a.elf", format: "elf" });
  assertEquals(resolveScenario({ name: "t" }).resolved?.checkpoint, null);
});

Deno.test("validate: a checkpoint that cannot be taken or named is an error naming its field", () => {
  const cases: [unknown, string][] = [
    [
      { source: "guest", atMs: 200 },
      "destination.checkpoint.atMs: 200 must be less than warmupMs (200): the copy is taken before the migration starts",
    ],
    [
      { source: "guest", atMs: -1 },
      "destination.checkpoint.atMs: must be a number of milliseconds >= 0, got -1",
    ],
    [{ source: "disk" }, 'destination.checkpoint.source: must be "guest" or "file", got "disk"'],
    [
      { source: "file", path: "a", format: "qcow2" },
      'destination.checkpoint.format: must be "elf" or "ferry", got "qcow2"',
    ],
    [
      { source: "file", format: "elf" },
      "destination.checkpoint.path: must be a non-empty string, got undefined",
    ],
    [
      { source: "guest", atMs: 1, path: "x" },
      'destination.checkpoint.path: only with source "file"',
    ],
  ];
  for (const [checkpoint, error] of cases) {
    assertEquals(resolveScenario({ ...BASE, destination: { checkpoint } }).errors, [error]);
  }
});

Deno.test("validate: hashDedup without a checkpoint, or a checkpoint without hashDedup, is a warning", () => {
  assertEquals(resolveScenario(BASE).warnings, [
    "migration.capabilities.hashDedup: destination.checkpoint is absent: the destination holds nothing, plain precopy",
  ]);
  assertEquals(
    resolveScenario({ name: "t", destination: { checkpoint: { source: "guest", atMs: 1 } } })
      .warnings,
    ["destination.checkpoint: unused, capability hashDedup is off"],
  );
});
