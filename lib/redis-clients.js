'use strict';

// BullMQ 6.7's client wrappers (createIORedisClient, createNodeRedisClient,
// createValkeyGlideClient, createBunRedisClient). BullMQ wraps a driver client in an
// adapter it sends its commands through; bullrush only reads the client's settings and
// connects with its own engine, so each returns the client itself once its settings
// have been checked: a client bullrush cannot read fails here, at the call.

const { normalizeConnection } = require('./connection');

/** Checks that bullrush can read `client`'s settings and returns it. */
function readable(client) {
  if (!client || typeof client !== 'object') throw new TypeError('a Redis client instance is required');
  normalizeConnection(client);
  return client;
}

/** An ioredis client (or Cluster) as a connection: returned as it is, its settings checked. */
function createIORedisClient(client) {
  return readable(client);
}

/** A node-redis client as a connection: returned as it is, its settings checked. */
function createNodeRedisClient(client) {
  return readable(client);
}

/** A Valkey GLIDE client as a connection: returned as it is, its settings checked. */
function createValkeyGlideClient(client) {
  return readable(client);
}

/** A Bun RedisClient as a connection: refused, its settings cannot be read (pass its URL). */
function createBunRedisClient(client) {
  return readable(client);
}

module.exports = { createIORedisClient, createNodeRedisClient, createValkeyGlideClient, createBunRedisClient };
