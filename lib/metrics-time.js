'use strict';

// BullMQ's MetricsTime: common `metrics.maxDataPoints` values, in one-minute points
// (a TypeScript numeric enum there, so names map to numbers and numbers back to names).

const MetricsTime = {};
for (const [name, minutes] of [
  ['ONE_MINUTE', 1],
  ['FIVE_MINUTES', 5],
  ['FIFTEEN_MINUTES', 15],
  ['THIRTY_MINUTES', 30],
  ['ONE_HOUR', 60],
  ['ONE_WEEK', 10080],
  ['TWO_WEEKS', 20160],
  ['ONE_MONTH', 80640],
]) {
  MetricsTime[name] = minutes;
  MetricsTime[minutes] = name;
}

module.exports = { MetricsTime };
