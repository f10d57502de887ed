/**
 * `deno task restore FILE [--json]`: restores a guest from a file a
 * migration saved (`migration.transport { kind: "file", path }`) into fresh
 * RAM, as a destination would, and says what it holds, or why it is refused.
 * The layout is told by the file's magic: a mapped-ram file ("FRMR") or a
 * stream file ("FERY"). Exit codes: 0 restored, 1 refused, 2 bad usage.
 *
 * @example
 * ```sh
 * deno task restore guest.ferry
 * ```
 * @module
 */
import { cliErrorLine, parseCli } from "../util/cli.ts";
import { systemClock } from "../util/clock.ts";
import { createRam, PAGE_SIZE } from "../guest/ram.ts";
import { decodeDeviceState } from "../guest/device_state.ts";
import { openFilePort } from "../net/file_port.ts";
import { restoreFromFile } from "../engine/file_restore.ts";
import type { FileLayout } from "../engine/file_sink.ts";
import { MAPPED_RAM_MAGIC } from "../stream/mapped_ram_format.ts";
import { MAGIC } from "../stream/format.ts";

/** Restores `args[0]`; resolves with the exit code. */
export async function restoreCli(args: string[]): Promise<number> {
  const options = { json: { type: "boolean" } } as const;
  let parsed;
  try {
    parsed = parseCli(args, options);
  } catch (e) {
    console.error(cliErrorLine(e, options));
    return 2;
  }
  const path = parsed.positionals[0];
  if (!path || parsed.positionals.length > 1) {
    console.error("usage: deno task restore FILE [--json]");
    return 2;
  }
  let file;
  try {
    file = await openFilePort(path, { write: false });
  } catch (e) {
    console.error(`${path}: ${(e as Error).message}`);
    return 2;
  }
  try {
    const head = new Uint8Array(4);
    await file.pread(head, 0);
    const magic = new DataView(head.buffer).getUint32(0);
    const layout: FileLayout | null = magic === MAPPED_RAM_MAGIC
      ? "mapped"
      : magic === MAGIC
      ? "stream"
      : null;
    if (!layout) {
      console.error(
        `${path}: neither a mapped-ram file nor a migration stream (magic 0x${magic.toString(16)})`,
      );
      return 1;
    }
    let touches: number | null = null;
    const r = await restoreFromFile({
      file,
      layout,
      clock: systemClock,
      createRam: (s) =>
        createRam(s.blocks.map((b) => ({ name: b.name, bytes: b.pages * PAGE_SIZE }))),
      loadDevice: (bytes) => {
        touches = decodeDeviceState(bytes).workload.touches;
      },
    });
    const out = {
      file: path,
      layout,
      sizeBytes: await file.size(),
      outcome: r.outcome,
      ...(r.error ? { error: r.error } : {}),
      blocks: r.ram?.blocks.map((b) => ({ name: b.name, bytes: b.bytes.length })) ?? null,
      pagesRead: r.outcome === "completed" ? r.pages : null,
      restoreMs: r.restoreMs,
      workloadTouches: touches,
    };
    if (parsed.values.json) console.log(JSON.stringify(out, null, 2));
    else if (r.outcome === "completed") {
      console.log(
        `${path}: restored (${layout}), ${
          out.blocks!.map((b) => `${b.name} ${b.bytes} bytes`).join(", ")
        }, ${r.pages} pages read in ${r.restoreMs!.toFixed(1)} ms`,
      );
    } else console.error(`${path}: ${r.error}`);
    return r.outcome === "completed" ? 0 : 1;
  } finally {
    file.close();
  }
}

if (import.meta.main) Deno.exit(await restoreCli(Deno.args));
