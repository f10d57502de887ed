/**
 * The checker: compares page digests and evaluates a scenario's expectations.
 * It never throws: an exception while judging becomes an expectation that
 * failed with the detail "unknown: ...", as a Jepsen checker's verdict would.
 *
 * @example
 * ```ts
 * import { compareDigests } from "./checker.ts";
 * const a = new Uint8Array(32), b = new Uint8Array(32);
 * b[20] = 1;
 * const c = compareDigests(a, b, [{ name: "pc.ram", pages: 2 }]);
 * console.log(c.mismatchedPages, c.mismatchedAddresses); // 1 ["pc.ram+0x1000"]
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import { DIGEST_BYTES, digestRam } from "../guest/digest.ts";
import { PAGE_SIZE, type Ram } from "../guest/ram.ts";
import { popcount32 } from "../guest/dirty_log.ts";
import type {
  DigestComparison,
  ExpectationResult,
  Expectations,
  Result,
} from "../contract/types.ts";
export type { DigestComparison };

/** Most mismatching addresses listed. */
export const ADDRESSES_LISTED = 8;

/**
 * What a comparison leaves out or sets apart, as bitmaps (bit per page in
 * global page order, little-endian 32-bit words, as the free view and the
 * balloon's record are kept).
 */
export interface CompareOptions {
  /** Pages the guest held free at stop: their content does not count. */
  free?: Uint8Array | null;
  /** Pages the guest falsely declared free: their mismatches are the guest's, reported apart. */
  lied?: Uint8Array | null;
}

const bit = (bits: Uint8Array | null | undefined, page: number) =>
  bits != null && page >> 3 < bits.length && (bits[page >> 3] & (1 << (page & 7))) !== 0;

/** Sorts mismatching pages into engine mismatches and the liar's, skipping free pages. */
class Tally {
  mismatched = 0;
  addresses: string[] = [];
  excluded = 0;
  liar = 0;
  liarAddresses: string[] = [];
  constructor(readonly options: CompareOptions) {}

  /** Counts the free pages of the comparison (once, up front). */
  countFree(pages: number): void {
    for (let p = 0; p < pages; p++) if (bit(this.options.free, p)) this.excluded++;
  }

  /** Records a mismatch at global page `page`; `where` names it lazily. */
  add(page: number, where: () => string): void {
    if (bit(this.options.free, page)) return;
    const lied = bit(this.options.lied, page);
    const list = lied ? this.liarAddresses : this.addresses;
    if (lied) this.liar++;
    else this.mismatched++;
    if (list.length < ADDRESSES_LISTED) list.push(where());
  }

  result(): DigestComparison {
    const r: DigestComparison = {
      memoryEqual: this.mismatched === 0,
      mismatchedPages: this.mismatched,
      mismatchedAddresses: this.addresses,
    };
    if (this.options.free) r.freePagesExcluded = this.excluded;
    if (this.options.lied) {
      r.liarMismatchedPages = this.liar;
      r.liarMismatchedAddresses = this.liarAddresses;
    }
    return r;
  }
}

/**
 * A guest's memory as a peer hands it to the checker: page digests (a peer
 * in another process) or the RAM itself (a peer in this process, read while
 * its guest stands still).
 */
export type PageImage =
  | { kind: "digests"; digests: Uint8Array; blocks: { name: string; pages: number }[] }
  | { kind: "ram"; ram: Ram };

/**
 * Compares two memories of the same guest, whichever form each peer gave;
 * a RAM is digested when the other side gave digests.
 *
 * @example
 * ```ts
 * import { compareImages } from "./checker.ts";
 * import { createRam } from "../guest/ram.ts";
 * const a = createRam([{ name: "pc.ram", bytes: 1 << 20 }]);
 * const b = createRam([{ name: "pc.ram", bytes: 1 << 20 }]);
 * b.blocks[0].bytes[5000] = 1;
 * const r = compareImages({ kind: "ram", ram: a }, { kind: "ram", ram: b });
 * console.log(r.mismatchedPages, r.mismatchedAddresses); // 1 ["pc.ram+0x1000"]
 * ```
 */
export function compareImages(
  expected: PageImage,
  actual: PageImage,
  options: CompareOptions = {},
): DigestComparison {
  if (expected.kind === "ram" && actual.kind === "ram") {
    return compareRams(expected.ram, actual.ram, options);
  }
  const digests = (i: PageImage) => i.kind === "ram" ? digestRam(i.ram) : i.digests;
  const blocks = expected.kind === "ram"
    ? expected.ram.blocks.map((b) => ({ name: b.name, pages: b.pages }))
    : expected.blocks;
  return compareDigests(digests(expected), digests(actual), blocks, options);
}

/**
 * Compares two digest arrays page by page; a length difference counts every
 * extra page. Free pages are left out and the liar's pages set apart (see
 * {@link CompareOptions}).
 */
export function compareDigests(
  expected: Uint8Array,
  actual: Uint8Array,
  blocks: { name: string; pages: number }[],
  options: CompareOptions = {},
): DigestComparison {
  const pages = Math.max(expected.length, actual.length) / DIGEST_BYTES;
  const tally = new Tally(options);
  tally.countFree(pages);
  let bi = 0, first = 0;
  for (let p = 0; p < pages; p++) {
    let same = (p + 1) * DIGEST_BYTES <= expected.length && (p + 1) * DIGEST_BYTES <= actual.length;
    for (let k = p * DIGEST_BYTES; same && k < (p + 1) * DIGEST_BYTES; k++) {
      same = expected[k] === actual[k];
    }
    if (same) continue;
    tally.add(p, () => {
      while (bi < blocks.length - 1 && p >= first + blocks[bi].pages) first += blocks[bi++].pages;
      const b = blocks[bi];
      return b ? `${b.name}+0x${((p - first) * PAGE_SIZE).toString(16)}` : `page ${p}`;
    });
  }
  return tally.result();
}

/**
 * Compares two RAMs in one process (simulation mode): whole blocks at native
 * speed, page by page only where they differ. Options as for {@link compareDigests}.
 */
export function compareRams(
  expected: Ram,
  actual: Ram,
  options: CompareOptions = {},
): DigestComparison {
  const tally = new Tally(options);
  tally.countFree(expected.totalPages);
  expected.blocks.forEach((b, i) => {
    const a = actual.blocks[i];
    if (!a || a.pages !== b.pages) {
      for (let p = 0; p < b.pages; p++) tally.add(b.firstPage + p, () => `${b.name}+0x0`);
      return;
    }
    if (equalBytes(b.bytes, a.bytes)) return;
    for (let p = 0; p < b.pages; p++) {
      const off = p * PAGE_SIZE;
      if (
        equalBytes(b.bytes.subarray(off, off + PAGE_SIZE), a.bytes.subarray(off, off + PAGE_SIZE))
      ) continue;
      tally.add(b.firstPage + p, () => `${b.name}+0x${off.toString(16)}`);
    }
  });
  return tally.result();
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(
    Buffer.from(b.buffer, b.byteOffset, b.length),
  );
}

/** Evaluates `expect` against a result. Never throws. */
export function evaluateExpectations(expect: Expectations, result: Result): ExpectationResult[] {
  const out: ExpectationResult[] = [];
  const check = (name: string, f: () => { ok: boolean; detail: string }) => {
    try {
      out.push({ name, ...f() });
    } catch (e) {
      out.push({ name, ok: false, detail: `unknown: ${(e as Error).message}` });
    }
  };
  const outcome = expect.outcome ?? "completed";
  check("outcome", () => ({
    ok: result.outcome === outcome,
    detail: `${result.outcome}${result.outcome === outcome ? "" : `, expected ${outcome}`}${
      result.error ? ` (${result.error})` : ""
    }`,
  }));
  // A guest that died with its process leaves nothing to compare.
  const memoryEqual = expect.memoryEqual !== undefined
    ? expect.memoryEqual
    : expect.guestLost
    ? null
    : true;
  check("memoryEqual", () => ({
    ok: result.memoryEqual === memoryEqual,
    detail: result.memoryEqual === null
      ? result.guestLost
        ? `nothing to compare: the guest died with its process${
          memoryEqual === null ? "" : ", expected a comparison"
        }`
        : "unknown: no digest to compare"
      : `${
        result.memoryEqual
          ? "equal"
          : `${result.mismatchedPages} pages differ (${result.mismatchedAddresses.join(", ")})`
      }${
        result.liarMismatchedPages
          ? `; apart from that, ${result.liarMismatchedPages} pages the guest falsely declared free differ`
          : ""
      }${result.freePagesExcluded ? `; ${result.freePagesExcluded} free pages not compared` : ""}`,
  }));
  checkFailureOutcome(expect, result, check);
  if (expect.downtimeMsMax !== undefined) {
    const max = expect.downtimeMsMax;
    check("downtimeMsMax", () => ({
      ok: result.downtimeMs !== null && result.downtimeMs <= max,
      detail: result.downtimeMs === null
        ? "no downtime: the guest never moved"
        : `${result.downtimeMs.toFixed(1)} ms, limit ${max} ms`,
    }));
  }
  if (expect.totalTimeMsMax !== undefined) {
    const max = expect.totalTimeMsMax;
    check(
      "totalTimeMsMax",
      () => ({
        ok: result.totalTimeMs <= max,
        detail: `${result.totalTimeMs.toFixed(0)} ms, limit ${max} ms`,
      }),
    );
  }
  if (expect.bytesMax !== undefined) {
    const max = expect.bytesMax;
    check(
      "bytesMax",
      () => ({
        ok: result.bytes !== null && result.bytes.total <= max,
        detail: result.bytes ? `${result.bytes.total} bytes, limit ${max}` : "bytes not reported",
      }),
    );
  }
  return out;
}

/** Set bits in a bit string (a free view, a liar's record). */
export function countBits(bytes: Uint8Array): number {
  let n = 0;
  for (const v of bytes) n += popcount32(v);
  return n;
}

/**
 * What a run that did not complete must show (nothing lost): the source guest
 * still running, unless the scenario expects it lost with a killed source;
 * the destination discarded; every fault fired; nothing left behind.
 */
function checkFailureOutcome(
  expect: Expectations,
  result: Result,
  check: (name: string, f: () => { ok: boolean; detail: string }) => void,
): void {
  const lost = result.guestLost ?? false;
  if (expect.guestLost !== undefined) {
    check("guestLost", () => ({
      ok: lost === expect.guestLost,
      detail: lost ? "the guest died with its process" : "the guest survived",
    }));
  }
  if (result.outcome !== "completed" && result.sourceGuestRunning !== undefined) {
    check("sourceGuestRunning", () => ({
      ok: result.sourceGuestRunning === true || (lost && expect.guestLost === true),
      detail: result.sourceGuestRunning
        ? "the source guest kept running"
        : lost
        ? "the source guest died with its process"
        : "the source guest is not running",
    }));
  }
  const resumed = result.destination?.resumed;
  if (result.outcome !== "completed" && resumed !== undefined) {
    check("destinationDiscarded", () => ({
      ok: !resumed,
      detail: resumed
        ? "the destination resumed the guest although the migration did not complete"
        : "the destination never resumed the guest",
    }));
  }
  const notFired = result.faultsNotFired;
  if (notFired && (notFired.length || result.faults.length)) {
    check("faultsFired", () => ({
      ok: notFired.length === 0,
      detail: notFired.length
        ? notFired.map((f) => `faults[${f.index}] ${f.action}: ${f.reason}`).join("; ")
        : `${result.faults.length} fired`,
    }));
  }
  const c = result.cleanup;
  if (c) {
    check("cleanup", () => {
      const left = [
        ...c.processesLeft.map((p) => `process ${p}`),
        ...c.tempFilesLeft,
        ...c.namespacesLeft.map((n) => `network namespace ${n}`),
        ...(c.remoteLeft ?? []),
      ];
      return {
        ok: left.length === 0,
        detail: left.length
          ? `left behind: ${left.join(", ")}`
          : "no process, file or namespace left",
      };
    });
  }
}
