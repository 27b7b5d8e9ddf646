'use strict';

// Turns BullMQ-style `connection` values (options object, URL, ioredis instance) into
// the plain settings the engine takes.

function isIORedisLike(c) {
  return c && typeof c === 'object' && typeof c.duplicate === 'function' && c.options;
}

// Node TLS options the engine honours; any other one set is refused rather than ignored.
const TLS_OPTIONS = ['ca', 'cert', 'key', 'rejectUnauthorized'];

// One PEM text from Node's `string | Buffer | Array<string | Buffer>` shape.
function pemText(value, option) {
  const parts = Array.isArray(value) ? value : [value];
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      if (Buffer.isBuffer(part)) return part.toString('utf8');
      throw new TypeError(`tls.${option} must be a PEM string or Buffer, or an array of them`);
    })
    .join('\n');
}

// ioredis' `tls` (`true` or Node's tls.connect options) as the engine's settings.
function tlsSettings(tls) {
  if (tls === true) return { tls: true };
  if (typeof tls !== 'object') {
    throw new TypeError('connection.tls must be true or an object of TLS options (profile names are not supported)');
  }
  const unsupported = Object.keys(tls).filter((k) => tls[k] !== undefined && !TLS_OPTIONS.includes(k));
  if (unsupported.length) {
    throw new Error(
      `Unsupported TLS option${unsupported.length > 1 ? 's' : ''} ${unsupported.join(', ')}: ` +
        `bullrush supports ${TLS_OPTIONS.join(', ')}`,
    );
  }
  const out = { tls: true, rejectUnauthorized: tls.rejectUnauthorized !== false };
  for (const option of ['ca', 'cert', 'key']) {
    if (tls[option] !== undefined) out[option] = pemText(tls[option], option);
  }
  return out;
}

function fromObject(o) {
  const out = {};
  if (o.url) out.url = String(o.url);
  if (o.host !== undefined) out.host = String(o.host);
  if (o.port !== undefined) out.port = Number(o.port);
  if (o.username) out.username = String(o.username);
  if (o.password) out.password = String(o.password);
  if (o.db !== undefined) out.db = Number(o.db);
  if (o.tls === false) out.tls = false;
  else if (o.tls) Object.assign(out, tlsSettings(o.tls));
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
