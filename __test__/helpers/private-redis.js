'use strict';

// A private redis-server for tests that need a Redis of their own (restart,
// refused-then-up, AUTH, TLS): a free loopback port, a temp dir, persistence
// off; kill() SIGKILLs it, dispose() also deletes its dir.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const IORedis = require('ioredis');

const { freePort, withTimeout } = require('./util');

const HOST = '127.0.0.1';

// The listening arguments: plain TCP on `port`, or TLS only on `port` when
// `tls` ({ certFile, keyFile, caFile, authClients }) is given.
function listenArgs(port, tls) {
  if (!tls) return ['--port', String(port)];
  return [
    '--port', '0',
    '--tls-port', String(port),
    '--tls-cert-file', tls.certFile,
    '--tls-key-file', tls.keyFile,
    '--tls-ca-cert-file', tls.caFile,
    '--tls-auth-clients', tls.authClients || 'no',
  ];
}

class PrivateRedis {
  constructor(port, { args = [], tls, hosts = [HOST] } = {}) {
    this.port = port;
    this.args = args;
    this.tls = tls;
    this.hosts = hosts;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullrush-redis-'));
    this.proc = null;
    this.output = '';
  }

  // opts: port (default: a free one), args (extra redis-server arguments),
  // tls (see listenArgs), hosts (addresses to bind; default 127.0.0.1).
  static async create(opts = {}) {
    const r = new PrivateRedis(opts.port || (await freePort()), opts);
    try {
      await r.start();
    } catch (err) {
      await r.dispose();
      throw err;
    }
    return r;
  }

  // Starts redis-server (again) on this port; resolves once it accepts connections.
  async start() {
    if (this.proc) throw new Error('redis-server already running');
    const proc = spawn(
      'redis-server',
      [
        ...listenArgs(this.port, this.tls),
        '--bind', ...this.hosts,
        '--save', '',
        '--appendonly', 'no',
        '--dir', this.dir,
        ...this.args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc = proc;
    proc.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    let out = '';
    await withTimeout(
      new Promise((resolve, reject) => {
        const onData = (chunk) => {
          out += chunk;
          this.output += chunk;
          if (out.includes('Ready to accept connections')) resolve();
        };
        proc.stdout.setEncoding('utf8').on('data', onData);
        proc.stderr.setEncoding('utf8').on('data', onData);
        proc.on('error', reject);
        proc.exited.then(({ code, signal }) =>
          reject(new Error(`redis-server exited (code ${code}, signal ${signal}) on start: ${out}`)),
        );
      }),
      10000,
      () => `redis-server on port ${this.port} not ready within 10 s: ${out}`,
    );
  }

  // SIGKILLs the server (no shutdown, no save) and waits until it is gone.
  async kill() {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await withTimeout(proc.exited, 5000, 'redis-server did not die on SIGKILL');
  }

  async dispose() {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // A plain ioredis client on this server (the caller quits it); a TLS
  // server needs `tls` in `extra`.
  client(extra = {}) {
    return new IORedis({ host: HOST, port: this.port, maxRetriesPerRequest: 1, ...extra });
  }
}

module.exports = { PrivateRedis, HOST };
