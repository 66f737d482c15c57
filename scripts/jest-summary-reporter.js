'use strict';

/**
 * Ends every jest run with one plain line, `tests: N passed, M failed`, that CI and people can
 * read without knowing jest's own summary format. Suites that fail to run count as failures.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stdout.write(`tests: ${results.numPassedTests} passed, ${failed} failed\n`);
  }
}

module.exports = SummaryReporter;
