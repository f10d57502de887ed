import { assertEquals, assertOk } from "../util/assert.ts";
import { resolveScenario, SCENARIO_FIELDS } from "./validate.ts";
import { BASE_PARAMETERS, CAPABILITIES } from "../engine/capabilities.ts";

/** A valid scenario that every case below breaks in one place. */
const BASE = { name: "v", mode: "sim", guest: { ram: "4MiB" } };
const errorsOf = (patch: Record<string, unknown>) => resolveScenario({ ...BASE, ...patch }).errors;

/** One misspelt key in each object of the contract, from the top down to the third level. */
const UNKNOWN_KEYS: { shape: string; patch: Record<string, unknown>; error: string }[] = [
  { shape: "", patch: { expct: {} }, error: "expct: unknown field (did you mean expect?)" },
  {
    shape: "hosts",
    patch: { hosts: { sourse: "local" } },
    error: "hosts.sourse: unknown field (did you mean source?)",
  },
  {
    shape: "guest",
    patch: { guest: { ram: "4MiB", rm: "8MiB" } },
    error: "guest.rm: unknown field (did you mean ram?)",
  },
  {
    shape: "guest.workload",
    patch: { guest: { ram: "4MiB", workload: { kind: "random", dirtRate: "1MiB/s" } } },
    error: "guest.workload.dirtRate: unknown field (did you mean dirtyRate?)",
  },
  {
    shape: "guest.balloon",
    patch: { guest: { ram: "4MiB", balloon: { behavior: "honest" } } },
    error: "guest.balloon.behavior: unknown field (did you mean behaviour?)",
  },
  {
    shape: "guest.staticFreeMap[]",
    patch: {
      guest: {
        ram: "4MiB",
        staticFreeMap: [{ start: 0, length: 4096 }, { start: 8192, length: 4096, lenght: 1 }],
      },
    },
    error: "guest.staticFreeMap[1].lenght: unknown field (did you mean length?)",
  },
  {
    shape: "migration",
    patch: { migration: { capabilites: { xbzrle: true } } },
    error: "migration.capabilites: unknown field (did you mean capabilities?)",
  },
  {
    shape: "migration.transport",
    patch: { migration: { transport: { kind: "file", pth: "a.ferry" } } },
    error: "migration.transport.pth: unknown field (did you mean path?)",
  },
  {
    shape: "network",
    patch: { network: { latency: 5 } },
    error: "network.latency: unknown field (did you mean latencyMs?)",
  },
  {
    shape: "network.schedule[]",
    patch: { network: { schedule: [{ atMs: 0, bandwidth: "1Mbit", bandwith: "2Mbit" }] } },
    error: "network.schedule[0].bandwith: unknown field (did you mean bandwidth?)",
  },
  {
    shape: "faults[]",
    patch: { faults: [{ at: { phase: "bulk" }, action: "cut-link", duration: 5 }] },
    error: "faults[0].duration: unknown field (did you mean durationMs?)",
  },
  {
    shape: "faults[].at",
    patch: {
      faults: [
        { at: { phase: "bulk" }, action: "cancel" },
        { at: { phase: "round", rund: 2 }, action: "cut-link" },
      ],
    },
    error: "faults[1].at.rund: unknown field (did you mean round?)",
  },
  {
    shape: "sim",
    patch: { sim: { cpuCost: {} } },
    error: "sim.cpuCost: unknown field (did you mean cpuCostUs?)",
  },
  {
    shape: "sim.cpuCostUs",
    patch: { sim: { cpuCostUs: { normal: 1, xbrle: 2 } } },
    error: "sim.cpuCostUs.xbrle: unknown field (did you mean xbzrle?)",
  },
  {
    shape: "expect",
    patch: { expect: { downtimeMax: 1 } },
    error: "expect.downtimeMax: unknown field (did you mean downtimeMsMax?)",
  },
  {
    shape: "destination",
    patch: { destination: { checkpoints: {} } },
    error: "destination.checkpoints: unknown field (did you mean checkpoint?)",
  },
  {
    shape: "destination.checkpoint",
    patch: { destination: { checkpoint: { source: "guest", atMs: 1, atMS: 2 } } },
    error: "destination.checkpoint.atMS: unknown field (did you mean atMs?)",
  },
];

Deno.test("validate: the base scenario of these tests is valid", () => {
  assertEquals(resolveScenario(BASE).errors, []);
});

Deno.test("validate: an unknown key in any object is an error naming its full path and the nearest field", () => {
  for (const { patch, error } of UNKNOWN_KEYS) assertEquals(errorsOf(patch), [error]);
});

Deno.test("validate: every object of the contract has an unknown-key case", () => {
  assertEquals(
    Object.keys(SCENARIO_FIELDS).sort(),
    [...new Set(UNKNOWN_KEYS.map((c) => c.shape))].sort(),
  );
});

Deno.test("validate: every unknown key is listed at once, at every depth", () => {
  const errors = errorsOf({
    colour: "red",
    guest: { ram: "4MiB", workload: { kind: "idle", speed: 1 }, "ram size": 1 },
    migration: { capabilities: { xbzrl: true }, parameter: {} },
    expect: { downtimeMax: 1, bytesMax: 10 },
  });
  assertEquals(errors, [
    "colour: unknown field (known: name, description, seed, mode, guest, migration, network, faults, retry, sim, expect, warmupMs, settleMs, destination, hosts)",
    'guest["ram size"]: unknown field (known: ram, fill, freeRatio, balloon, staticFreeMap, workload)',
    "guest.workload.speed: unknown field (known: kind, dirtyRate, writeBytes, hotsetRatio, hotsetProbability)",
    "migration.parameter: unknown field (did you mean parameters?)",
    "migration.capabilities.xbzrl: unknown capability (did you mean xbzrle?)",
    "expect.downtimeMax: unknown field (did you mean downtimeMsMax?)",
  ]);
});

Deno.test("validate: hosts: placements parsed, bad ones and what peers on other hosts cannot do refused", () => {
  const ok = resolveScenario({
    ...BASE,
    mode: "real",
    hosts: { source: "ssh://ci@10.0.0.7:2222/srv/ferry", destination: "netns:lab-b" },
  });
  assertEquals(ok.errors, []);
  assertEquals(ok.resolved?.hosts, {
    source: { kind: "ssh", user: "ci", host: "10.0.0.7", port: 2222, path: "/srv/ferry" },
    destination: { kind: "netns", name: "lab-b" },
  });
  assertEquals(resolveScenario(BASE).resolved?.hosts, {
    source: { kind: "local" },
    destination: { kind: "local" },
  });
  assertEquals(errorsOf({ mode: "real", hosts: { source: "remote", destination: 7 } }), [
    'hosts.source: must be "local", "netns:NAME" or "ssh://[user@]host[:port][/path]", got "remote"',
    "hosts.destination: must be a string",
  ]);
  assertEquals(
    errorsOf({
      mode: "sim",
      hosts: { destination: "ssh://h" },
      network: { bandwidth: "100Mbit" },
      faults: [{ at: { phase: "bulk" }, action: "corrupt" }],
    }),
    [
      "hosts: peers on other hosts exist in real mode only",
      "network: between peers on other hosts the link is the hosts' own network (shape it there, e.g. tc on their interfaces); leave network empty",
      "faults[0].action: corrupt needs the runner's shaping proxy, which peers on other hosts do not use",
    ],
  );
});

Deno.test("validate: an object given as something else is an error naming it", () => {
  const errors = errorsOf({
    guest: { ram: "4MiB", balloon: "honest", workload: ["idle"] },
    migration: 1,
    expect: [],
    faults: [[]],
  });
  for (
    const want of [
      'guest.balloon: must be an object, got "honest"',
      'guest.workload: must be an object, got ["idle"]',
      "migration: must be an object, got 1",
      "expect: must be an object, got []",
      "faults[0]: must be an object",
    ]
  ) assertOk(errors.includes(want), `${want} in ${errors.join(" | ")}`);
});

Deno.test("validate: a parameter of a capability that is off is accepted, with a warning naming it", () => {
  const { resolved, errors, warnings } = resolveScenario({
    ...BASE,
    migration: { capabilities: { compress: true }, parameters: { xbzrleCacheSize: "1MiB" } },
  });
  assertEquals(errors, []);
  assertOk(resolved);
  assertEquals(warnings, [
    "migration.parameters.xbzrleCacheSize: unused, capability xbzrle is off",
  ]);
});

Deno.test("validate: docs/scenario.md documents every field, capability and parameter", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/scenario.md", import.meta.url));
  const paths = [
    ...Object.entries(SCENARIO_FIELDS).flatMap(([shape, fields]) =>
      fields.map((f) => shape ? `${shape}.${f}` : f)
    ),
    ...CAPABILITIES.map((c) => `migration.capabilities.${c.name}`),
    ...[BASE_PARAMETERS, ...CAPABILITIES.map((c) => c.parameters)].flatMap((list) =>
      list.map((p: { name: string }) => `migration.parameters.${p.name}`)
    ),
  ];
  assertEquals(paths.filter((p) => !doc.includes(`\`${p}\``)), []);
});
