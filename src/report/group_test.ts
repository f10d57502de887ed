import { CAPABILITIES, type CapabilityDecl } from "../engine/capabilities.ts";
import { assertEquals, assertMatch, assertOk, assertRejects } from "../util/assert.ts";
import { listNames } from "./data_file.ts";
import { GROUP_FOLDERS, loadGroup, resolveGroup } from "./group.ts";
import { validateCases } from "./group_cases.ts";

const base = { name: "b", seed: 9, guest: { ram: "16MiB", workload: { kind: "idle" } } };
const cap = (name: string): CapabilityDecl => ({ name, doc: name, parameters: [], conflicts: [] });

Deno.test("each capability becomes one case with that capability alone, so the group grows with the table", async () => {
  const def = {
    name: "caps",
    base,
    cases: [{ label: "precopy" }, {
      each: "capability",
      except: ["c"],
      with: { b: { "migration.parameters.bCacheSize": "1MiB" }, future: { "guest.ram": "1GiB" } },
    }],
  };
  const none = await resolveGroup(def, { path: "inline", capabilities: [] });
  assertEquals(none.cases.map((c) => c.label), ["precopy"]);
  const three = await resolveGroup(def, {
    path: "inline",
    capabilities: [cap("a"), cap("b"), cap("c")],
  });
  assertEquals(three.cases.map((c) => c.label), ["precopy", "a", "b"]);
  assertEquals(three.cases[1].scenario.migration?.capabilities, { a: true });
  assertEquals(three.cases[2].scenario.migration, {
    capabilities: { b: true },
    parameters: { bCacheSize: "1MiB" },
  });
  assertEquals(three.cases[0].scenario.migration, undefined);
  // Same seed and workload for every case; names are unique and valid.
  assertEquals(new Set(three.cases.map((c) => c.scenario.seed)), new Set([9]));
  assertEquals(three.cases.map((c) => c.scenario.name), ["caps.precopy", "caps.a", "caps.b"]);
});

Deno.test("sweeps set a dotted path per value; explicit cases apply their set", async () => {
  const g = await resolveGroup({
    name: "sw",
    base,
    set: { "guest.ram": "32MiB" },
    repeat: 2,
    cases: [
      {
        sweep: "guest.workload.dirtyRate",
        values: ["4MiB/s", "16MiB/s"],
        set: { "guest.workload.kind": "random" },
      },
      { label: "bw {value}", sweep: "network.bandwidth", values: ["1Gbit"] },
      { label: "tight limit", set: { "migration.parameters.downtimeLimitMs": 5 } },
    ],
  }, { path: "inline" });
  assertEquals(g.repeat, 2);
  assertEquals(g.cases.map((c) => c.label), [
    "dirtyRate=4MiB/s",
    "dirtyRate=16MiB/s",
    "bw 1Gbit",
    "tight limit",
  ]);
  assertEquals(g.cases[1].scenario.guest, {
    ram: "32MiB",
    workload: { kind: "random", dirtyRate: "16MiB/s" },
  });
  assertEquals(g.cases[2].scenario.network, { bandwidth: "1Gbit" });
  assertEquals(g.cases[3].scenario.migration?.parameters, { downtimeLimitMs: 5 });
  assertEquals(g.cases[1].scenario.name, "sw.dirtyRate-16MiB-s");
  // The base is not shared between cases.
  assertEquals(g.cases[0].scenario.guest?.workload?.dirtyRate, "4MiB/s");
});

Deno.test("an invalid group lists every problem with its field", async () => {
  const err = await resolveGroup({
    name: "bad name!",
    colour: "red",
    repeat: 0,
    base,
    cases: [
      { label: "x" },
      { label: "x" },
      { each: "parameter" },
      { sweep: "guest.ram" },
      { values: [1] },
      { sweep: "guest.ram.size", values: ["1MiB"] },
      { label: "y", with: {} },
    ],
  }, { path: "g.json" }).then(() => null, (e) => e);
  assertOk(err instanceof TypeError, "rejects with a TypeError");
  for (
    const want of [
      /^g\.json: invalid group/,
      /colour: unknown field/,
      /name: must be letters/,
      /repeat: must be a whole number >= 1/,
      /two cases are labelled "x"/,
      /cases\[2\]\.each: must be "capability"/,
      /cases\[3\]\.values: must be a non-empty list/,
      /cases\[4\]\.values: only goes with sweep/,
      /cases\[5\]\.sweep: "guest\.ram\.size": ram is not an object/,
      /cases\[6\]\.with: only goes with each/,
    ]
  ) assertMatch(err.message, want);
});

Deno.test("a base scenario can be named, and a missing one is reported with the known names", async () => {
  const g = await resolveGroup({ name: "n", base: "default", cases: [{ label: "as is" }] }, {
    path: "inline",
  });
  assertEquals(g.cases[0].scenario.guest?.ram, "256MiB");
  await assertRejects(
    () => resolveGroup({ name: "n", base: "no-such", cases: [{ label: "x" }] }, { path: "inline" }),
    /base: Scenario "no-such" not found.*known: .*default/s,
  );
});

Deno.test("the shipped groups load; each validates in sim mode, and real mode names what it refuses", async () => {
  const names = await listNames(GROUP_FOLDERS);
  for (const want of ["capabilities", "bandwidth", "dirty-rate", "downtime-limit", "quick"]) {
    assertOk(names.includes(want), `${want} in ${names}`);
  }
  for (const name of names) {
    const g = await loadGroup(name);
    assertEquals(validateCases(g.cases, { mode: "sim" }), [], name);
    assertOk(g.cases.length >= 1, name);
  }
  const caps = await loadGroup("capabilities");
  assertEquals(caps.cases.length, 1 + CAPABILITIES.length);
  assertEquals(caps.cases[0].label, "precopy");
  for (const name of ["capabilities", "dirty-rate", "downtime-limit", "quick"]) {
    assertEquals(validateCases((await loadGroup(name)).cases, { mode: "real" }), [], name);
  }
  const bw = await loadGroup("bandwidth");
  assertEquals(bw.cases.length, 5);
  // Real mode refuses shaping until it exists; whatever it refuses names the case and the field.
  for (const e of validateCases(bw.cases, { mode: "real" })) {
    assertMatch(e, /^bandwidth=\S+: network/);
  }
});

Deno.test("a group can be given as a file path; a missing one says where it looked", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-group-" });
  try {
    const file = `${dir}/mine.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ base, cases: [{ sweep: "seed", values: [1, 2] }] }),
    );
    const g = await loadGroup(file);
    assertEquals(g.name, "mine");
    assertEquals(g.cases.map((c) => c.scenario.seed), [1, 2]);
    await Deno.writeTextFile(file, "{ nope");
    await assertRejects(() => loadGroup(file), /mine\.json: not valid JSON/);
    await assertRejects(
      () => loadGroup("nothing-here"),
      /Group "nothing-here" not found: .*known: .*capabilities/s,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
