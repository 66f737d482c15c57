'use strict';

const path = require('node:path');

const packageConfig = require('./jest.package.js');

/**
 * `npm run test:unit`: every package's test/unit/ folder and nothing else. Unit tests open no
 * sockets, so no servers are started (the full `jest.config.js` starts PostgreSQL and S3).
 * @type {import('jest').Config}
 */
module.exports = {
  projects: ['singer', 'tap-kaggle', 'processor', 'tap-minio-csv', 'target-postgres'].map((name) => ({
    ...packageConfig(path.join(__dirname, 'packages', name)),
    testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
  })),
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
};
