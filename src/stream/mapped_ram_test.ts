import { assertEquals, assertRejects } from "../util/assert.ts";

/** Asserts that `fn` rejects with an error of `cls` whose message includes `text`. */
function rejectsWith(fn: () => Promise<unknown>, cls: ErrorConstructor, text: string) {
  return assertRejects(fn, (e: Error) => e instanceof cls && e.message.includes(text));
}
import { diskFullError, memoryFilePort, openFilePort } from "../net/file_port.ts";
import type { FilePort } from "../contract/ports.ts";
import { MappedRamWriter } from "./mapped_ram_writer.ts";
import { loadMappedRamPages, openMappedRamFile } from "./mapped_ram_reader.ts";
import { FILE_HEAD_BYTES, mappedRamLayout, PAGES_ALIGN_BYTES } from "./mapped_ram_format.ts";
import { crc32 } from "node:zlib";

const PS = 4096;

/** The pages (as "block:page") where `a` and `b` differ; a short list, not a diff of megabytes. */
function differingPages(a: Uint8Array[], b: Uint8Array[]): string[] {
  const out: string[] = [];
  a.forEach((x, i) => {
    if (x.length !== b[i]?.length) out.push(`${i}: length ${x.length} vs ${b[i]?.length}`);
    else {
      for (let p = 0; p < x.length && out.length < 8; p += 4096) {
        for (let k = p; k < p + 4096; k++) {
          if (x[k] !== b[i][k]) {
            out.push(`${i}:${p / 4096}`);
            break;
          }
        }
      }
    }
  });
  return out;
}

const BLOCKS = [{ name: "pc.ram", bytes: 64 * PS }, { name: "vga.vram", bytes: 9 * PS }];

function page(fill: number): Uint8Array {
  return new Uint8Array(PS).fill(fill);
}

/** Saves a small two-block guest; returns the file and what the guest holds. */
async function save(file = memoryFilePort()) {
  const w = await MappedRamWriter.create(file, BLOCKS, { pageSize: PS });
  const ram = BLOCKS.map((b) => new Uint8Array(b.bytes));
  const put = async (block: number, p: number, fill: number) => {
    ram[block].set(page(fill), p * PS);
    await w.writePages(block, p, page(fill));
  };
  await put(0, 0, 1);
  await put(0, 5, 2);
  await put(0, 5, 3); // rewritten in place
  await put(1, 8, 4);
  const run = new Uint8Array(3 * PS).map((_, i) => i & 0xff);
  ram[0].set(run, 10 * PS);
  await w.writePages(0, 10, run);
  // A page written, then zero: not in the file, restores as zero.
  await put(0, 20, 5);
  ram[0].fill(0, 20 * PS, 21 * PS);
  w.zeroPage(0, 20);
  await w.finish(new TextEncoder().encode("cpu"));
  return { file, w, ram };
}

async function restore(file: FilePort) {
  const saved = await openMappedRamFile(file, { pageSize: PS });
  const ram = saved.layout.blocks.map((b) => new Uint8Array(b.usedBytes));
  await loadMappedRamPages(file, saved, ram);
  return { saved, ram };
}

Deno.test("mapped-ram: pages at fixed offsets, rewritten in place, restored with the device state", async () => {
  const { file, w, ram } = await save();
  const layout = mappedRamLayout(BLOCKS, PS);
  for (const b of layout.blocks) assertEquals(b.pagesOffset % PAGES_ALIGN_BYTES, 0);
  assertEquals(w.pagesWritten, 8);
  assertEquals(w.pagesRewritten, 1);
  assertEquals(await file.size(), w.sizeWith(3));
  // The page is where its index says, holding its last copy.
  const at = new Uint8Array(PS);
  await file.pread(at, layout.blocks[0].pagesOffset + 5 * PS);
  assertEquals(at[0], 3);
  const back = await restore(file);
  assertEquals(new TextDecoder().decode(back.saved.device), "cpu");
  assertEquals(differingPages(back.ram, ram), []);
});

Deno.test("mapped-ram: a file without its end record (the source killed mid-write) is refused", async () => {
  const file = memoryFilePort();
  const w = await MappedRamWriter.create(file, BLOCKS, { pageSize: PS });
  await w.writePages(0, 63, page(7));
  await rejectsWith(() => restore(file), RangeError, "cut short");
});

Deno.test("mapped-ram: a file cut short anywhere is refused", async () => {
  const { file } = await save();
  const whole = file.bytes();
  const layout = mappedRamLayout(BLOCKS, PS);
  for (
    const cut of [0, 10, layout.headerBytes - 1, layout.blocks[0].pagesOffset, whole.length - 1]
  ) {
    const short = memoryFilePort({ initial: whole.subarray(0, cut) });
    await rejectsWith(() => restore(short), RangeError, "refused");
  }
  const longer = new Uint8Array(whole.length + 1);
  longer.set(whole);
  const long = memoryFilePort({ initial: longer });
  await rejectsWith(() => restore(long), RangeError, "trailing bytes");
});

Deno.test("mapped-ram: a flipped byte in a page, the header, a bitmap or the device state is refused", async () => {
  const { file } = await save();
  const whole = file.bytes();
  const layout = mappedRamLayout(BLOCKS, PS);
  const flip = (at: number) => {
    const b = whole.slice();
    b[at] ^= 0x10;
    return memoryFilePort({ initial: b });
  };
  await rejectsWith(
    () => restore(flip(layout.blocks[0].pagesOffset + 11 * PS + 100)),
    RangeError,
    'block "pc.ram" page 11: its CRC-32 differs',
  );
  await rejectsWith(() => restore(flip(20)), RangeError, "refused");
  // A block name's letter: still a valid name, only the header's checksum tells.
  await rejectsWith(
    () => restore(flip(FILE_HEAD_BYTES + 1)),
    RangeError,
    "the header's checksum differs",
  );
  await rejectsWith(() => restore(flip(layout.blocks[1].bitmapOffset)), RangeError, "checksum");
  await rejectsWith(() => restore(flip(layout.blocks[0].crcOffset + 1)), RangeError, "checksum");
  await rejectsWith(() => restore(flip(layout.endOffset + 5)), RangeError, "checksum");
  await rejectsWith(() => restore(flip(whole.length - 6)), RangeError, "no end record");
});

Deno.test("mapped-ram: a header whose offsets differ from its layout is refused before any page", async () => {
  const { file } = await save();
  const whole = file.bytes();
  const layout = mappedRamLayout(BLOCKS, PS);
  // Block 0's pagesOffset: after the file head, its name, used length, page size and two offsets.
  const at = FILE_HEAD_BYTES + 1 + BLOCKS[0].name.length + 8 + 4 + 8 + 8;
  const v = new DataView(whole.buffer);
  assertEquals(Number(v.getBigUint64(at)), layout.blocks[0].pagesOffset);
  // Another 1 MiB-aligned offset, the header's checksum made right: only the layout check is left.
  v.setBigUint64(at, BigInt(layout.blocks[0].pagesOffset + PAGES_ALIGN_BYTES));
  v.setUint32(layout.headerBytes - 4, crc32(whole.subarray(0, layout.headerBytes - 4)));
  await rejectsWith(
    () => restore(memoryFilePort({ initial: whole })),
    RangeError,
    'block "pc.ram" has offsets',
  );
});

Deno.test("mapped-ram: a full disk and a write error fail the save with the device's error", async () => {
  const full = memoryFilePort({ sizeLimitBytes: PAGES_ALIGN_BYTES + 8 * PS });
  await rejectsWith(() => save(full), Error, "No space left on device");
  const failing: FilePort = {
    ...memoryFilePort(),
    pwrite: (_d, off) =>
      off > PAGES_ALIGN_BYTES ? Promise.reject(new Error("EIO")) : Promise.resolve(),
  };
  await rejectsWith(() => save(failing as ReturnType<typeof memoryFilePort>), Error, "EIO");
  assertEquals(diskFullError("x", 1).name, "DiskFull");
});

Deno.test("mapped-ram: a real file is sparse where pages were zero, and round-trips", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/guest.ferry`;
    const f = await openFilePort(path);
    const { ram } = await save(f as ReturnType<typeof memoryFilePort>);
    f.close();
    const r = await openFilePort(path, { write: false });
    const back = await restore(r);
    r.close();
    assertEquals(differingPages(back.ram, ram), []);
    const st = await Deno.stat(path);
    // 73 pages of RAM, 8 written: the file's blocks hold far less than its size.
    assertEquals(st.blocks !== null && st.blocks * 512 < st.size / 2, true, JSON.stringify(st));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
