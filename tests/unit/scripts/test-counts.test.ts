import { describe, expect, it } from 'vitest';
import { countsLine, pytestTally, totalOf, vitestTally } from '#scripts/test-counts.ts';

/** A vitest JSON report (the fields the counts read) of files, each a status and its tests' statuses. */
function vitestReport(files: { status: string; tests: string[] }[]): string {
  const tests = files.flatMap((file) => file.tests);
  return JSON.stringify({
    numPassedTests: tests.filter((t) => t === 'passed').length,
    numFailedTests: tests.filter((t) => t === 'failed').length,
    numPendingTests: tests.filter((t) => t === 'skipped' || t === 'pending').length,
    success: false,
    testResults: files.map((file, index) => ({
      name: `/repo/tests/file-${index}.test.ts`,
      status: file.status,
      message: '',
      assertionResults: file.tests.map((status) => ({ status })),
    })),
  });
}

const junit = (tests: number, failures: number, errors: number, skipped: number) =>
  `<?xml version="1.0"?><testsuites><testsuite name="pytest" errors="${errors}" failures="${failures}" skipped="${skipped}" tests="${tests}"></testsuite></testsuites>`;

describe("the test command's closing counts", () => {
  it('adds up the suites that passed', () => {
    const total = totalOf([
      vitestTally({
        name: 'unit',
        exitedOk: true,
        report: vitestReport([{ status: 'passed', tests: ['passed', 'passed', 'skipped'] }]),
      }),
      pytestTally({ name: 'dag', exitedOk: true, report: junit(4, 0, 0, 1) }),
    ]);
    expect(countsLine(total)).toBe('5 passed, 0 failed, 2 skipped');
  });

  it('counts failed tests, pytest errors among them', () => {
    const total = totalOf([
      vitestTally({
        name: 'unit',
        exitedOk: false,
        report: vitestReport([{ status: 'failed', tests: ['passed', 'failed'] }]),
      }),
      pytestTally({ name: 'dag', exitedOk: false, report: junit(5, 1, 1, 0) }),
    ]);
    expect(countsLine(total)).toBe('4 passed, 3 failed');
  });

  it('counts a suite whose report is missing as a failure, and says which', () => {
    const total = totalOf([
      vitestTally({
        name: 'unit',
        exitedOk: true,
        report: vitestReport([{ status: 'passed', tests: ['passed'] }]),
      }),
      vitestTally({ name: 'e2e', exitedOk: false, report: undefined }),
      pytestTally({ name: 'spark', exitedOk: false, report: undefined }),
    ]);
    expect(total.failed).toBe(2);
    expect(countsLine(total)).toBe(
      '1 passed, 2 failed\n  e2e: no report (the suite did not run to its end)\n  spark: no report (the suite did not run to its end)',
    );
  });

  it('counts a file that failed outside its tests (a crash, a failing beforeAll or afterAll) as a failure', () => {
    const tally = vitestTally({
      name: 'integration',
      exitedOk: false,
      report: vitestReport([
        { status: 'failed', tests: ['skipped', 'skipped'] },
        { status: 'failed', tests: [] },
        { status: 'failed', tests: ['failed'] },
        { status: 'passed', tests: ['passed'] },
      ]),
    });
    expect(tally).toMatchObject({ passed: 1, failed: 3, skipped: 2 });
    expect(tally.notes).toEqual([
      'integration: /repo/tests/file-0.test.ts failed outside its tests',
      'integration: /repo/tests/file-1.test.ts failed outside its tests',
    ]);
  });

  it('counts a suite that exited with an error while its report shows no failure (an unhandled error, a failed global setup)', () => {
    const tally = vitestTally({
      name: 'e2e',
      exitedOk: false,
      report: vitestReport([{ status: 'passed', tests: ['passed'] }]),
    });
    expect(countsLine(tally)).toBe('1 passed, 1 failed\n  e2e: exited with an error outside any test');
    expect(pytestTally({ name: 'dag', exitedOk: false, report: junit(2, 0, 0, 0) }).failed).toBe(1);
  });

  it('counts an unreadable report as a failure', () => {
    expect(vitestTally({ name: 'unit', exitedOk: false, report: '{"numPassedTests": 3' })).toEqual({
      passed: 0,
      failed: 1,
      skipped: 0,
      notes: ['unit: its report is unreadable'],
    });
  });
});
