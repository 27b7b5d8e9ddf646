'use strict';

// `bullrush/testing`: a throwaway real Redis and unique queue names for test suites
// (lib/testing.js). testing.mjs is the ESM entry, testing.d.ts the types.

const { startTestRedis, TestRedis } = require('./lib/testing');

module.exports = { startTestRedis, TestRedis };
