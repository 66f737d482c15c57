'use strict';

const path = require('node:path');

/**
 * The jest config every workspace package shares: ts-jest without type-checking (tsc -b does
 * that), and `@singer-ts/singer` and `@singer-ts/devkit/testing` mapped to their sources so unit
 * tests need no build.
 * @param {string} dir the package's folder (`__dirname` of its jest.config.js)
 * @returns {import('jest').Config}
 */
module.exports = function packageConfig(dir) {
  const singer = path.join(__dirname, 'packages', 'singer', 'src');
  return {
    displayName: path.basename(dir),
    rootDir: dir,
    preset: 'ts-jest',
    testEnvironment: 'node',
    clearMocks: true,
    restoreMocks: true,
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    moduleNameMapper: {
      '^@singer-ts/singer$': singer,
      '^@singer-ts/singer/(.+)$': path.join(singer, '$1'),
      // The shared test support (servers, databases, schemas, seeded random data), from source.
      '^@singer-ts/devkit/testing$': path.join(__dirname, 'scripts', 'devkit', 'src', 'testing'),
    },
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.test.json') }] },
  };
};
