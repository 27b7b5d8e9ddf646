'use strict';

// Throwaway certificates for TLS tests, made with `openssl` at test time, and
// a check that this machine can run them (openssl, a redis-server with TLS).

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

function run(cmd, args, { cwd } = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 20000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// Why TLS tests cannot run here, or false when they can.
function tlsUnavailable() {
  const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8', timeout: 10000 });
  if (openssl.error || openssl.status !== 0) return 'openssl is not available to make test certificates';
  // A TLS build stops on the missing certificate; a build without TLS does
  // not know the directive at all.
  const probe = spawnSync('redis-server', ['--port', '0', '--tls-port', '1', '--save', '', '--appendonly', 'no'], {
    encoding: 'utf8',
    timeout: 10000,
  });
  if (probe.error) return `redis-server cannot be run (${probe.error.code || probe.error.message})`;
  const out = `${probe.stdout}${probe.stderr}`;
  if (/Bad directive|wrong number of arguments/i.test(out)) return 'redis-server was built without TLS (--tls-port unknown)';
  if (!/tls/i.test(out)) return `redis-server did not answer the TLS probe as expected: ${out.trim().slice(-200)}`;
  return false;
}

// EC P-256 keys: quick to make, and both OpenSSL (redis) and rustls take them.
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir, name) {
  run('openssl', [
    'req', '-x509', ...KEY_ARGS, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', `${name}.key`, '-out', `${name}.crt`,
  ], { cwd: dir });
}

// A leaf certificate `name` signed by CA `ca`, with the given extensions.
function makeLeaf(dir, name, ca, extensions) {
  fs.writeFileSync(path.join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  run('openssl', ['req', ...KEY_ARGS, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], { cwd: dir });
  run('openssl', [
    'x509', '-req', '-in', `${name}.csr`, '-days', '2',
    '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-extfile', `${name}.ext`, '-out', `${name}.crt`,
  ], { cwd: dir });
}

// Writes into `dir` a test CA, a server certificate it signed for 127.0.0.1
// and localhost, a client certificate it signed, and an unrelated second CA.
// Returns the file names the server needs and the PEM texts clients need.
function makeCertificates(dir) {
  makeCa(dir, 'test-ca');
  makeCa(dir, 'other-ca');
  const leaf = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature'];
  makeLeaf(dir, 'server', 'test-ca', [...leaf, 'extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  makeLeaf(dir, 'client', 'test-ca', [...leaf, 'extendedKeyUsage=clientAuth']);
  const read = (file) => fs.readFileSync(path.join(dir, file), 'utf8');
  return {
    server: {
      certFile: path.join(dir, 'server.crt'),
      keyFile: path.join(dir, 'server.key'),
      caFile: path.join(dir, 'test-ca.crt'),
    },
    ca: read('test-ca.crt'),
    otherCa: read('other-ca.crt'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
  };
}

module.exports = { tlsUnavailable, makeCertificates };
