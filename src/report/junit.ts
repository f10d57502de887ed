/**
 * A suite's verdicts as JUnit XML, the format CI systems read. One
 * `testsuite` per scenario (named with the suite and its mode; `time` the
 * runs' wall time when every run reported it), one `testcase` per check:
 * an expectation (`outcome`, `memoryEqual`, `downtimeMsMax`, ...), a metric
 * against the baseline (`bytesTotal vs baseline`) or, for a run the harness
 * crashed on, `harness`. A check that did not hold has a `failure`, one
 * that was not judged a `skipped` (no baseline, `--no-baseline`), a crash
 * an `error` with its stack; each with a message saying why. The counts
 * (`tests`, `failures`, `errors`, `skipped`) are those of the checks, so
 * skipped and crashed checks are never counted as passed.
 *
 * @example
 * ```ts
 * import { renderJunitCrash } from "./junit.ts";
 * const xml = renderJunitCrash("quick", new Error("boom"), { timestamp: "2025-01-01T00:00:00Z" });
 * console.log(/errors="1"/.test(xml)); // true
 * ```
 * @module
 */
import type { Check, SuiteReport } from "./suite.ts";

/** Escapes text for XML attributes and content (and drops characters XML cannot hold). */
function x(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/** A `time` attribute, or nothing when the time was not measured. */
function time(seconds: number | null): string {
  return seconds === null ? "" : ` time="${seconds.toFixed(3)}"`;
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

function counts(checks: Check[]): Counts {
  return {
    tests: checks.length,
    failures: checks.filter((c) => !c.ok && !c.error).length,
    errors: checks.filter((c) => c.error).length,
    skipped: checks.filter((c) => c.skipped).length,
  };
}

function countAttrs(c: Counts): string {
  return `tests="${c.tests}" failures="${c.failures}" errors="${c.errors}" skipped="${c.skipped}"`;
}

function testcase(classname: string, c: Check): string {
  const head = `    <testcase classname="${x(classname)}" name="${x(c.name)}"`;
  const first = c.detail.split("\n")[0];
  if (c.error) {
    return `${head}>\n      <error message="${x(first)}" type="harness-crash">${
      x(c.detail)
    }</error>\n    </testcase>`;
  }
  if (c.skipped) return `${head}>\n      <skipped message="${x(first)}"/>\n    </testcase>`;
  if (!c.ok) {
    return `${head}>\n      <failure message="${x(first)}" type="${
      c.kind === "baseline" ? "regression" : "expectation"
    }">${x(`${c.name}: ${c.detail}`)}</failure>\n    </testcase>`;
  }
  return `${head}>\n      <system-out>${x(c.detail)}</system-out>\n    </testcase>`;
}

/** Renders the report as JUnit XML. */
export function renderJunit(r: SuiteReport, timestamp = new Date().toISOString()): string {
  const all = r.verdicts.flatMap((v) => v.checks);
  const seconds = r.verdicts.every((v) => v.seconds !== null)
    ? r.verdicts.reduce((a, v) => a + v.seconds!, 0)
    : null;
  const props = (v: { mode: string }) =>
    [
      ["suite", r.suite],
      ["mode", v.mode],
      ["commit", r.comparison.commit.commit ?? "unknown"],
      ["baseline", r.baseline?.what ?? "none"],
      ["baselineSource", r.baseline?.source ?? "none"],
      ["baselineRequired", String(r.baselineRequired)],
    ].map(([k, val]) => `      <property name="${k}" value="${x(val)}"/>`).join("\n");
  const suites = r.verdicts.map((v) => {
    const classname = `ferry.${r.suite}.${v.label} (${v.mode} mode)`;
    return `  <testsuite name="${x(`${r.suite}: ${v.label} (${v.mode} mode)`)}" ${
      countAttrs(counts(v.checks))
    }${time(v.seconds)} timestamp="${x(timestamp)}">
    <properties>
${props(v)}
    </properties>
${v.checks.map((c) => testcase(classname, c)).join("\n")}
  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="${x(`ferry ${r.suite}`)}" ${countAttrs(counts(all))}${time(seconds)}>
${suites.join("\n")}
</testsuites>
`;
}

/**
 * JUnit XML for a run the harness crashed on before any verdict (exit 3):
 * one `error` with the stack, so that CI reports the crash rather than
 * finding no file.
 */
export function renderJunitCrash(
  suite: string,
  error: unknown,
  options: { timestamp?: string } = {},
): string {
  const timestamp = options.timestamp ?? new Date().toISOString();
  const text = error instanceof Error ? error.stack ?? error.message : String(error);
  const check: Check = { name: "harness", kind: "harness", ok: false, error: true, detail: text };
  const c = countAttrs(counts([check]));
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="${x(`ferry ${suite}`)}" ${c}>
  <testsuite name="${x(suite)}" ${c} timestamp="${x(timestamp)}">
${testcase(`ferry.${suite}`, check)}
  </testsuite>
</testsuites>
`;
}
