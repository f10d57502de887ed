import { assertEquals } from "../util/assert.ts";
import { openFilePort } from "../net/file_port.ts";
import { MappedRamWriter } from "../stream/mapped_ram_writer.ts";
import { encodeDeviceState } from "../guest/device_state.ts";
import { Workload } from "../guest/workload.ts";
import { restoreCli } from "./restore_cli.ts";

Deno.test("restore CLI: a whole mapped-ram file restores (0), a cut one is refused (1), bad usage is 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/g.ferry`;
    const f = await openFilePort(path);
    const w = await MappedRamWriter.create(f, [{ name: "pc.ram", bytes: 8 * 4096 }], {
      pageSize: 4096,
    });
    await w.writePages(0, 3, new Uint8Array(4096).fill(1));
    const workload = Workload.fresh({ kind: "idle", touchesPerSec: 0, writeBytes: 1 }, 1);
    await w.finish(encodeDeviceState({ workload: workload.state() }));
    f.close();
    assertEquals(await restoreCli([path]), 0);
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 1));
    assertEquals(await restoreCli([path]), 1);
    await Deno.writeFile(path, new Uint8Array(16));
    assertEquals(await restoreCli([path]), 1);
    assertEquals(await restoreCli([]), 2);
    assertEquals(await restoreCli([`${dir}/none.ferry`]), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
