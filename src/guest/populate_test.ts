import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";

const MIB = 1024 * 1024;

/**
 * Runs `body` in a fresh Deno process with `permissions` (resident memory is
 * only meaningful in a process whose freed memory no earlier test can lend)
 * and returns the JSON it prints.
 */
async function inFreshProcess<T>(permissions: string[], body: string): Promise<T> {
  const script = `
    import { createRam, PAGE_SIZE, preallocateRamInBackground } from "${
    new URL("./ram.ts", import.meta.url).href
  }";
    import { populateRam } from "${new URL("./populate.ts", import.meta.url).href}";
    const rss = () => Deno.memoryUsage().rss;
    ${body}
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", ...permissions, "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const out = await child.output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as T;
}

Deno.test({
  name: "populate: every page of every block is backed without a touch, and content stays",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const got = await inFreshProcess<{ why: string | null; grown: number; kept: number[] }>(
      ["--allow-read", "--allow-ffi"],
      `
      const ram = createRam([{ name: "a", bytes: 48 << 20 }, { name: "b", bytes: 16 << 20 }]);
      // A page of each block holds something before; it must be there after.
      ram.blocks[0].bytes.fill(0xa5, 5 * PAGE_SIZE, 6 * PAGE_SIZE);
      const last = ram.blocks[1].bytes.length - 1;
      ram.blocks[1].bytes[last] = 7;
      const before = rss();
      const why = await populateRam(ram);
      const grown = rss() - before;
      const kept = [ram.blocks[0].bytes[5 * PAGE_SIZE + 100], ram.blocks[0].bytes[6 * PAGE_SIZE],
        ram.blocks[1].bytes[last]];
      console.log(JSON.stringify({ why, grown, kept }));
      `,
    );
    assertEquals(got.why, null);
    assertOk(got.grown >= 60 * MIB, `resident memory grew ${got.grown} bytes, expected 64 MiB`);
    assertEquals(got.kept, [0xa5, 0, 7]);
  },
});

Deno.test({
  name: "populate: without FFI it says why, and preallocation falls back to a worker",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const got = await inFreshProcess<{ why: string; grown: number; zero: boolean }>(
      ["--allow-read"],
      `
      const why = await populateRam(createRam([{ name: "pc.ram", bytes: 1 << 20 }]));
      const before = rss();
      const ram = await preallocateRamInBackground([{ name: "pc.ram", bytes: 32 << 20 }]);
      const grown = rss() - before;
      console.log(JSON.stringify({ why, grown, zero: ram.blocks[0].bytes.every((b) => b === 0) }));
      `,
    );
    assertMatch(got.why, /ffi/i);
    assertOk(got.grown >= 30 * MIB, `the worker touched ${got.grown} bytes, expected 32 MiB`);
    assertOk(got.zero);
  },
});
