/**
 * The closing counts of the full test command (scripts/test.ts), from each suite's report and exit
 * status. A failure that no test carries still counts as one: a suite whose report is missing (it
 * could not start, or its global setup failed), a test file that failed outside its tests (it
 * crashed, or a beforeAll/afterAll threw), a suite that exited non-zero with no failure in its
 * report (an unhandled error). So "0 failed" is printed only when nothing failed.
 */
import { z } from 'zod';

/** Counts of one suite or of the whole run; `notes` says what failed outside any test. */
export interface Tally {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly notes: readonly string[];
}

/** One suite as the test command ran it: its report's text (undefined: none was written) and exit status. */
export interface SuiteRun {
  readonly name: string;
  readonly report: string | undefined;
  readonly exitedOk: boolean;
}

const VitestReport = z.object({
  numPassedTests: z.number(),
  numFailedTests: z.number(),
  numPendingTests: z.number(),
  testResults: z.array(
    z.object({
      name: z.string(),
      status: z.string(),
      assertionResults: z.array(z.object({ status: z.string() })),
    }),
  ),
});

const missing = (suite: SuiteRun): Tally => ({
  passed: 0,
  failed: 1,
  skipped: 0,
  notes: [`${suite.name}: no report (the suite did not run to its end)`],
});

/** A suite that exited non-zero although its counts show no failure failed somewhere: one more. */
function withExitStatus(suite: SuiteRun, tally: Tally): Tally {
  if (suite.exitedOk || tally.failed > 0) return tally;
  return {
    ...tally,
    failed: 1,
    notes: [...tally.notes, `${suite.name}: exited with an error outside any test`],
  };
}

/** A vitest JSON report's counts, a failed file without a failed test counted as one failure. */
export function vitestTally(suite: SuiteRun): Tally {
  if (suite.report === undefined) return missing(suite);
  let report: z.infer<typeof VitestReport>;
  try {
    report = VitestReport.parse(JSON.parse(suite.report));
  } catch {
    return { passed: 0, failed: 1, skipped: 0, notes: [`${suite.name}: its report is unreadable`] };
  }
  const failedFiles = report.testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
  );
  return withExitStatus(suite, {
    passed: report.numPassedTests,
    failed: report.numFailedTests + failedFiles.length,
    skipped: report.numPendingTests,
    notes: failedFiles.map((file) => `${suite.name}: ${file.name} failed outside its tests`),
  });
}

/** A pytest JUnit XML report's counts (its testsuite element's attributes; errors are failures). */
export function pytestTally(suite: SuiteRun): Tally {
  if (suite.report === undefined) return missing(suite);
  const element = /<testsuite\b[^>]*>/.exec(suite.report)?.[0] ?? '';
  const attribute = (name: string): number =>
    Number(new RegExp(`\\b${name}="(\\d+)"`).exec(element)?.[1] ?? 0);
  const failed = attribute('failures') + attribute('errors');
  const skipped = attribute('skipped');
  return withExitStatus(suite, {
    passed: attribute('tests') - failed - skipped,
    failed,
    skipped,
    notes: [],
  });
}

/** The run's counts: the sum of its suites'. */
export function totalOf(tallies: readonly Tally[]): Tally {
  return tallies.reduce(
    (total, t) => ({
      passed: total.passed + t.passed,
      failed: total.failed + t.failed,
      skipped: total.skipped + t.skipped,
      notes: [...total.notes, ...t.notes],
    }),
    { passed: 0, failed: 0, skipped: 0, notes: [] },
  );
}

/** The closing line: "N passed, N failed[, N skipped]", then what failed outside any test. */
export function countsLine({ passed, failed, skipped, notes }: Tally): string {
  const line = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
  return notes.length === 0 ? line : `${line}\n${notes.map((note) => `  ${note}`).join('\n')}`;
}
