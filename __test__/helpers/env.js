'use strict';

// Which implementation the suite runs against (see impl.js).
const implName = (process.env.BULLRUSH_TEST_IMPL || 'bullrush').toLowerCase();

if (implName !== 'bullrush' && implName !== 'bullmq') {
  throw new Error(
    `BULLRUSH_TEST_IMPL must be "bullrush" or "bullmq", got ${JSON.stringify(process.env.BULLRUSH_TEST_IMPL)}`,
  );
}

const isBullmqImpl = implName === 'bullmq';

// For bullrush-only strictness (inputs BullMQ accepts but bullrush rejects):
// pass as the `skip` option of a test, e.g. test('...', { skip: bullrushOnly }, fn).
const bullrushOnly = isBullmqImpl ? 'bullrush-only strictness: BullMQ accepts this input' : false;

// Human-readable name of the implementation under test, for test titles.
const implLabel = isBullmqImpl ? 'bullmq(as impl)' : 'bullrush';

module.exports = { implName, isBullmqImpl, bullrushOnly, implLabel };
