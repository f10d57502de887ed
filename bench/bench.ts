/**
 * `deno task bench`: every speed goal of the project, measured in one run.
 * Each part prints its own table; nothing here asserts a time.
 * @module
 */
import { runEngineBench } from "./engine_bench.ts";
import { runXbzrleBench } from "./xbzrle_bench.ts";

console.log("== engine: 1 GiB guests over loopback between two peer processes (real mode)");
await runEngineBench();

console.log();
console.log(
  "== xbzrle: encode and decode of one page against its old copy, TypeScript and C (gcc -O2)",
);
await runXbzrleBench();
