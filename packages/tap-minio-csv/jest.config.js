/** @type {import('jest').Config} */
module.exports = require('../../jest.package.js')(__dirname);
