'use strict';

// Turns a `connection` in any form BullMQ 6.7 accepts (options object, URL, an ioredis
// client or Cluster, a node-redis, Valkey GLIDE or Bun client, raw or wrapped by
// BullMQ's create*Client) into the plain settings the engine takes. A client only lends
// its settings: the engine opens connections of its own. A form or setting bullrush
// cannot honour is refused here, naming it, before anything reaches Redis.

// Node TLS options the engine honours; any other one set is refused rather than ignored.
const TLS_OPTIONS = ['ca', 'cert', 'key', 'rejectUnauthorized'];

// Node `tls.connect` options node-redis takes inside `socket` beside the TCP ones.
const SOCKET_TLS_OPTIONS = [
  ...TLS_OPTIONS,
  'servername',
  'pfx',
  'passphrase',
  'checkServerIdentity',
  'minVersion',
  'maxVersion',
  'ciphers',
  'secureContext',
  'ALPNProtocols',
  'crl',
];

/** The error for a connection bullrush cannot use: `shape` names the form, `detail` why. */
function unsupported(shape, detail) {
  return new Error(`Unsupported connection (${shape}): ${detail}`);
}

// Whether an option is set (ioredis fills unset ones with null, '' or []).
function isSet(value) {
  if (value === undefined || value === null || value === '' || value === false) return false;
  return !(Array.isArray(value) && value.length === 0);
}

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
  const unknown = Object.keys(tls).filter((k) => tls[k] !== undefined && !TLS_OPTIONS.includes(k));
  if (unknown.length) {
    throw new Error(
      `Unsupported TLS option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: ` +
        `bullrush supports ${TLS_OPTIONS.join(', ')}`,
    );
  }
  const out = { tls: true, rejectUnauthorized: tls.rejectUnauthorized !== false };
  for (const option of ['ca', 'cert', 'key']) {
    if (tls[option] !== undefined) out[option] = pemText(tls[option], option);
  }
  return out;
}

// Refuses ioredis settings that change where or how to connect and that the engine
// cannot honour (the others, such as timeouts and retry strategies, do not apply to it).
function refuseIORedisSettings(o, shape) {
  if (isSet(o.keyPrefix)) {
    throw new Error('BullMQ: ioredis does not support ioredis prefixes, use the prefix option instead.');
  }
  if (isSet(o.path)) throw unsupported(shape, `path (a Unix socket) is not supported: give host and port`);
  if (isSet(o.sentinels)) throw unsupported(shape, 'sentinels (Redis Sentinel) is not supported by bullrush yet');
  if (isSet(o.startupNodes) || isSet(o.redisOptions)) {
    throw unsupported(shape, 'Redis Cluster is not supported by bullrush yet');
  }
}

// ioredis-style options (what BullMQ takes as an options object, and ioredis' `options`).
function fromIORedisOptions(o, shape) {
  refuseIORedisSettings(o, shape);
  const out = {};
  if (o.url) out.url = String(o.url);
  if (o.host !== undefined && o.host !== null) out.host = String(o.host);
  if (o.port !== undefined && o.port !== null) out.port = Number(o.port);
  if (o.username) out.username = String(o.username);
  if (o.password) out.password = String(o.password);
  if (o.db !== undefined && o.db !== null) out.db = Number(o.db);
  if (o.tls === false) out.tls = false;
  else if (o.tls) Object.assign(out, tlsSettings(o.tls));
  Object.assign(out, patienceSettings(o));
  return out;
}

// How long requests wait for Redis while it is down or loading, as ioredis bounds them:
// `maxRetriesPerRequest` (a count, or null for no limit; -1 tells the engine null) and
// `enableOfflineQueue: false` (no waiting at all).
function patienceSettings(o) {
  const out = {};
  if (o.maxRetriesPerRequest === null) out.maxRetriesPerRequest = -1;
  else if (o.maxRetriesPerRequest !== undefined) {
    const n = Number(o.maxRetriesPerRequest);
    if (!Number.isInteger(n) || n < 0) {
      throw new TypeError('connection.maxRetriesPerRequest must be null or a whole number of at least 0');
    }
    out.maxRetriesPerRequest = n;
  }
  if (o.enableOfflineQueue === false) out.enableOfflineQueue = false;
  return out;
}

// node-redis (`@redis/client`) client options: `url`, `socket`, `username`, `password`, `database`.
function fromNodeRedisOptions(o, shape) {
  if (isSet(o.rootNodes)) throw unsupported(shape, 'Redis Cluster is not supported by bullrush yet');
  if (isSet(o.sentinelRootNodes)) throw unsupported(shape, 'Redis Sentinel is not supported by bullrush yet');
  const socket = o.socket || {};
  if (isSet(socket.path)) throw unsupported(shape, 'socket.path (a Unix socket) is not supported: give host and port');
  const out = {};
  if (o.url) out.url = String(o.url);
  if (socket.host !== undefined) out.host = String(socket.host);
  if (socket.port !== undefined) out.port = Number(socket.port);
  if (o.username) out.username = String(o.username);
  if (o.password) out.password = String(o.password);
  if (o.database !== undefined) out.db = Number(o.database);
  const tlsOptions = Object.fromEntries(SOCKET_TLS_OPTIONS.filter((k) => socket[k] !== undefined).map((k) => [k, socket[k]]));
  if (socket.tls) Object.assign(out, tlsSettings(Object.keys(tlsOptions).length ? tlsOptions : true));
  else if (socket.tls === false) out.tls = false;
  return out;
}

// Valkey GLIDE's client configuration: `addresses`, `useTLS`, `credentials`, `databaseId`.
function fromGlideConfig(raw, shape) {
  const config = raw && (raw.config || raw.options);
  if (!config) throw unsupported(shape, 'its settings cannot be read (the client has no config)');
  const addresses = config.addresses || [];
  if (addresses.length !== 1) {
    throw unsupported(shape, `addresses lists ${addresses.length} servers: bullrush connects to exactly one`);
  }
  const out = { host: String(addresses[0].host) };
  if (addresses[0].port !== undefined) out.port = Number(addresses[0].port);
  const credentials = config.credentials || {};
  if (credentials.username) out.username = String(credentials.username);
  if (credentials.password) out.password = String(credentials.password);
  if (config.databaseId !== undefined) out.db = Number(config.databaseId);
  if (config.useTLS) {
    const advanced = (config.advancedConfiguration || {}).tlsAdvancedConfiguration || {};
    if (advanced.rootCertificates) out.ca = pemText(advanced.rootCertificates, 'ca');
    out.tls = true;
    out.rejectUnauthorized = advanced.insecure !== true;
  }
  return out;
}

/** What a client passed as `connection` is, by the markers BullMQ detects drivers by. */
function clientKind(c) {
  const isAdapter = typeof c.runCommand === 'function' && typeof c.defineCommand === 'function' && !c.__bullmq_iredis;
  if (!isAdapter) return rawKind(c);
  return c.raw && typeof c.raw === 'object' ? rawKind(c.raw) || 'adapter' : 'adapter';
}

// The driver of a raw client: ioredis has defineCommand; node-redis sendCommand and
// isOpen/isReady; Bun send and connected; GLIDE customCommand.
function rawKind(c) {
  if (typeof c.defineCommand === 'function') return c.isCluster === true ? 'ioredis-cluster' : 'ioredis';
  if (typeof c.sendCommand === 'function' && ('isOpen' in c || 'isReady' in c)) return 'node-redis';
  if (typeof c.send === 'function' && 'connected' in c) return 'bun';
  if (typeof c.customCommand === 'function') return 'valkey-glide';
  if (['connect', 'disconnect', 'duplicate'].every((name) => typeof c[name] === 'function')) return 'unknown';
  return undefined;
}

// The raw driver client of a client BullMQ's create*Client wrapped (kept as `raw`).
function rawOf(c) {
  return c.raw && typeof c.raw === 'object' ? c.raw : c;
}

const READERS = {
  ioredis: (c) => fromIORedisOptions(c.options || {}, 'an ioredis client'),
  'ioredis-cluster': () => {
    throw unsupported('an ioredis Cluster', 'Redis Cluster is not supported by bullrush yet');
  },
  'node-redis': (c) => {
    const raw = rawOf(c);
    if (typeof raw.getSlotRandomNode === 'function') {
      throw unsupported('a node-redis cluster client', 'Redis Cluster is not supported by bullrush yet');
    }
    if (typeof raw.getMasterNode === 'function') {
      throw unsupported('a node-redis sentinel client', 'Redis Sentinel is not supported by bullrush yet');
    }
    if (!raw.options) throw unsupported('a node-redis client', 'its settings cannot be read (the client has no options)');
    return fromNodeRedisOptions(raw.options, 'a node-redis client');
  },
  'valkey-glide': (c) => {
    const raw = rawOf(c);
    const name = (raw.constructor && raw.constructor.name) || '';
    if (name.includes('Cluster')) throw unsupported('a Valkey GLIDE cluster client', 'Redis Cluster is not supported by bullrush yet');
    return fromGlideConfig(raw, 'a Valkey GLIDE client');
  },
  bun: () => {
    throw unsupported('a Bun RedisClient', "its settings cannot be read: pass its URL (connection: 'redis://…') instead");
  },
  adapter: (c) => {
    throw unsupported(`a Redis client adapter (${describe(c)})`, 'bullrush cannot read its settings: pass host, port and the rest, or a URL');
  },
  unknown: (c) => {
    throw unsupported(
      `an unknown kind of Redis client, ${describe(c)}`,
      'pass its settings ({ host, port, username, password, db, tls }) or a redis:// URL instead',
    );
  },
};

function describe(c) {
  return (c.constructor && c.constructor.name) || 'Object';
}

/** Normalises a `connection` option into the engine's connection settings. */
function normalizeConnection(connection) {
  if (connection === undefined || connection === null) return {};
  if (typeof connection === 'string') return { url: connection };
  if (typeof connection !== 'object') {
    throw new TypeError('connection must be an options object, a redis:// URL or a Redis client');
  }
  const kind = clientKind(connection);
  if (!kind) return fromIORedisOptions(connection, 'connection options');
  return READERS[kind](connection);
}

module.exports = { normalizeConnection };
