/**
 * Sizes, rates and bandwidths as the scenario writes them.
 *
 * - sizes: a byte count or a string with an IEC suffix: `"256MiB"`, `"4GiB"`, `"4096"`;
 * - rates: a size per second: `"64MiB/s"`;
 * - bandwidths: bits per second (`"500Mbit"`, `"1Gbit"`, `"10Mbit/s"`) or bytes per
 *   second (`"100MiB/s"`).
 *
 * Decimal bit units follow networking use (1 Mbit = 10^6 bits).
 *
 * @example
 * ```ts
 * import { parseSize, parseBandwidth } from "./size.ts";
 * parseSize("256MiB"); // 268435456
 * parseBandwidth("1Gbit"); // 125000000 (bytes per second)
 * ```
 * @module
 */

const IEC: Record<string, number> = {
  "": 1,
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
};
const BITS: Record<string, number> = {
  bit: 1,
  Kbit: 1e3,
  kbit: 1e3,
  Mbit: 1e6,
  Gbit: 1e9,
  Kibit: 1024,
  Mibit: 1024 ** 2,
  Gibit: 1024 ** 3,
};

/** Parses a size (bytes). Throws RangeError naming the text when it cannot. */
export function parseSize(value: unknown): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0 && Number.isInteger(value)) return value;
    throw new RangeError(`Size ${value} is not a whole, non-negative number of bytes`);
  }
  if (typeof value !== "string") {
    throw new TypeError(`Size must be a number or a string, got ${typeof value}`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  const unit = m ? IEC[m[2]] : undefined;
  if (!m || unit === undefined) {
    throw new RangeError(`Size "${value}" is not a number with an optional KiB/MiB/GiB suffix`);
  }
  return Math.round(Number(m[1]) * unit);
}

/** Parses a rate such as `"64MiB/s"` (bytes per second). */
export function parseRate(value: unknown): number {
  if (typeof value === "number") return parseSize(value);
  if (typeof value !== "string") {
    throw new TypeError(`Rate must be a number or a string, got ${typeof value}`);
  }
  const text = value.trim();
  if (!text.endsWith("/s")) {
    throw new RangeError(`Rate "${value}" must end in /s, for example "64MiB/s"`);
  }
  return parseSize(text.slice(0, -2));
}

/** Parses a bandwidth in bits (`"500Mbit"`) or bytes (`"100MiB/s"`) per second; returns bytes per second. */
export function parseBandwidth(value: unknown): number {
  if (typeof value === "number") return parseSize(value);
  if (typeof value !== "string") {
    throw new TypeError(`Bandwidth must be a number or a string, got ${typeof value}`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+bit)(?:\/s|ps)?\s*$/.exec(value);
  if (m) {
    const unit = BITS[m[2]];
    if (unit === undefined) {
      throw new RangeError(`Bandwidth "${value}" has an unknown bit unit "${m[2]}"`);
    }
    return Math.round((Number(m[1]) * unit) / 8);
  }
  try {
    return parseRate(value);
  } catch {
    throw new RangeError(
      `Bandwidth "${value}" is neither bits ("500Mbit") nor bytes per second ("64MiB/s")`,
    );
  }
}

/** Formats a byte count with an IEC suffix, for people. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}
