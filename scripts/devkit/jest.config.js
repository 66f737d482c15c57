/** @type {import('jest').Config} */
module.exports = {
  displayName: 'devkit',
  preset: 'ts-jest',
  testEnvironment: 'node',
  clearMocks: true,
  restoreMocks: true,
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  moduleNameMapper: { '^@singer-ts/singer$': '<rootDir>/../../packages/singer/src', '^@singer-ts/singer/testing$': '<rootDir>/../../packages/singer/src/testing' },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/../../tsconfig.test.json' }] },
};
