/** @type {import('jest').Config} */
module.exports = {
  displayName: 'tap-kaggle',
  preset: 'ts-jest',
  testEnvironment: 'node',
  clearMocks: true,
  restoreMocks: true,
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  moduleNameMapper: { '^@singer-ts/singer$': '<rootDir>/../singer/src', '^@singer-ts/singer/testing$': '<rootDir>/../singer/src/testing' },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/../../tsconfig.test.json' }] },
};
