/**
 * Part 3 of bench/hash_bench.ts alone: `deno run -A bench/hash_migration_bench_cli.ts`.
 * @module
 */
import { hashMigrationBench } from "./hash_bench.ts";
await hashMigrationBench();
