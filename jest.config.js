/** @type {import('jest').Config} */
module.exports = {
  projects: ['<rootDir>/packages/*', '<rootDir>/scripts/devkit'],
  // One set of servers for the whole run: a per-project setup would start them once per package.
  globalSetup: '<rootDir>/scripts/devkit/dist/jest-global-setup.js',
  globalTeardown: '<rootDir>/scripts/devkit/dist/jest-global-teardown.js',
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
  testTimeout: 120000,
};
