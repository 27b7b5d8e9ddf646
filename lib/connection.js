'use strict';

// Turns BullMQ-style `connection` values (options object, URL, ioredis instance) into
// the plain settings the engine takes.

function isIORedisLike(c) {
  return c && typeof c === 'object' && typeof c.duplicate === 'function' && c.options;
}

function fromObject(o) {
  const out = {};
  if (o.url) out.url = String(o.url);
  if (o.host !== undefined) out.host = String(o.host);
  if (o.port !== undefined) out.port = Number(o.port);
  if (o.username) out.username = String(o.username);
  if (o.password) out.password = String(o.password);
  if (o.db !== undefined) out.db = Number(o.db);
  if (o.tls) {
    out.tls = true;
    out.rejectUnauthorized = !(typeof o.tls === 'object' && o.tls.rejectUnauthorized === false);
  }
  return out;
}

/** Normalises a `connection` option; an ioredis client only lends its settings. */
function normalizeConnection(connection) {
  if (connection === undefined || connection === null) return {};
  if (typeof connection === 'string') return { url: connection };
  if (isIORedisLike(connection)) return fromObject(connection.options);
  if (typeof connection === 'object') return fromObject(connection);
  throw new TypeError('connection must be an options object, a redis:// URL or an ioredis instance');
}

module.exports = { normalizeConnection };
