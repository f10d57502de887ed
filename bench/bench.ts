/**
 * `deno task bench`: every speed goal of the project, measured in one run.
 * Each part prints its own table; nothing here asserts a time.
 * @module
 */
import { runEngineBench } from "./engine_bench.ts";
import { runXbzrleBench } from "./xbzrle_bench.ts";
import { runHintsBench } from "./hints_bench.ts";

console.log("== engine: 1 GiB guests over loopback between two peer processes (real mode)");
await runEngineBench();

console.log(
  "\n== mapped-ram: save and restore a 1 GiB guest to a file on the local disk, against cp; a busy guest over 10 rounds",
);
const { runFileBench } = await import("./file_bench.ts");
await runFileBench();

console.log("\n== simulation: 1 GiB guest over a simulated 1 Gbit/s link (sim mode)");
const { runSimBench } = await import("./sim_bench.ts");
await runSimBench();

console.log(
  "\n== free-page hints: one request on a 1 GiB guest, a flood, touches with free memory",
);
await runHintsBench();

console.log(
  "\n== xbzrle: encode and decode of one page against its old copy, TypeScript and C (gcc -O2)",
);
await runXbzrleBench();

console.log(
  "\n== hashDedup: SHA-256 and the source's hash path over 1 GiB; a 1 GiB guest with a 90 % checkpoint over 1 Gbit/s",
);
const { runHashBench } = await import("./hash_bench.ts");
await runHashBench();
