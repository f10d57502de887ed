/**
 * Writes a comparison's reports into a folder: `report.md` (the Markdown
 * table), `report.html` (self-contained, with inline SVG plots) and
 * `report.json` (the comparison: cases, statistics and every run's result
 * with its progress series).
 *
 * @example
 * ```ts ignore
 * const files = await writeReports(comparison, ".ferry/reports/capabilities");
 * console.log(files.html);
 * ```
 * @module
 */
import { join } from "node:path";
import type { Comparison } from "./comparison.ts";
import { renderHtml } from "./html.ts";
import { renderMarkdown } from "./markdown.ts";

/** The files written. */
export interface ReportFiles {
  markdown: string;
  html: string;
  json: string;
}

/** Writes the three reports (creating the folder); returns their paths. */
export async function writeReports(c: Comparison, dir: string): Promise<ReportFiles> {
  await Deno.mkdir(dir, { recursive: true });
  const files = {
    markdown: join(dir, "report.md"),
    html: join(dir, "report.html"),
    json: join(dir, "report.json"),
  };
  await Deno.writeTextFile(files.markdown, renderMarkdown(c));
  await Deno.writeTextFile(files.html, renderHtml(c));
  await Deno.writeTextFile(files.json, JSON.stringify(c, null, 1) + "\n");
  return files;
}
