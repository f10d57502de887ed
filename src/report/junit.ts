/**
 * A suite's verdicts as JUnit XML, the format CI systems read: one
 * `testsuite` per suite, one `testcase` per scenario (named with its mode),
 * a `failure` listing every check that did not hold, `skipped` when no check
 * could be judged, and the checks that held in `system-out`.
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("junit.xml", renderJunit(report));
 * ```
 * @module
 */
import type { SuiteReport } from "./suite.ts";

/** Escapes text for XML attributes and content. */
function x(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/** Renders the report as JUnit XML. */
export function renderJunit(r: SuiteReport, timestamp = new Date().toISOString()): string {
  const failures = r.verdicts.filter((v) => !v.passed).length;
  const seconds = r.verdicts.reduce((a, v) => a + v.seconds, 0);
  const cases = r.verdicts.map((v) => {
    const failed = v.checks.filter((c) => !c.ok);
    const lines = v.checks.map((c) =>
      `${c.ok ? (c.skipped ? "skip" : "ok") : "FAIL"} ${c.name}: ${c.detail}`
    );
    const body = failed.length
      ? `\n      <failure message="${x(failed.map((c) => c.name).join(", "))}" type="regression">${
        x(failed.map((c) => `${c.name}: ${c.detail}`).join("\n"))
      }</failure>`
      : "";
    return `    <testcase classname="ferry.${x(r.suite)}" name="${
      x(`${v.label} (${v.mode} mode)`)
    }" time="${v.seconds.toFixed(3)}">${body}\n      <system-out>${
      x(lines.join("\n"))
    }</system-out>\n    </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="ferry" tests="${r.verdicts.length}" failures="${failures}" time="${
    seconds.toFixed(3)
  }">
  <testsuite name="${
    x(r.suite)
  }" tests="${r.verdicts.length}" failures="${failures}" errors="0" skipped="0" time="${
    seconds.toFixed(3)
  }" timestamp="${x(timestamp)}">
    <properties>
      <property name="modes" value="${x(r.comparison.modes.join(","))}"/>
      <property name="commit" value="${x(r.comparison.commit.commit ?? "unknown")}"/>
      <property name="baseline" value="${x(r.baseline?.what ?? "none")}"/>
    </properties>
${cases.join("\n")}
  </testsuite>
</testsuites>
`;
}
