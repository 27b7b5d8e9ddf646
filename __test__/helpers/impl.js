'use strict';

// The implementation under test.
//
// By default this is bullrush itself (the package root, index.js). With
// BULLRUSH_TEST_IMPL=bullmq it is the real `bullmq` package instead, so that
// every test can be validated with BullMQ on both sides of the wire before
// (and while) the engine exists.
//
// Tests import the "other side" directly: require('bullmq').

const { isBullmqImpl } = require('./env');

module.exports = isBullmqImpl ? require('bullmq') : require('../..');
