'use strict'
// Starts a real redis-server of the test's own on a free loopback port and
// stops it by PID. Without redis-server the Redis tests are skipped, except in
// CI (CI=true), where they fail.
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')

const haveRedis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0

/** node:test options: skip without redis-server, unless in CI. */
function redisTest() {
  if (haveRedis) return {}
  if (process.env.CI === 'true') throw new Error('redis-server is not installed, and CI=true requires the Redis tests')
  return { skip: 'redis-server is not installed' }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

/** A running redis-server; `aof` turns on appendonly with appendfsync always. */
async function startRedis({ aof = false, port, dir } = {}) {
  port ??= await freePort()
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'task-guard-redis-'))
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes']
  args.push('--appendonly', aof ? 'yes' : 'no')
  if (aof) args.push('--appendfsync', 'always')
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)))
  await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('Ready to accept connections')) resolve()
    })
    child.on('exit', () => reject(new Error(`redis-server exited: ${out}`)))
  })
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}/0`,
    pid: child.pid,
    /** Stops it (SIGTERM by default, SIGKILL for a crash) and waits for the exit. */
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, signal)
      return exited
    },
  }
}

module.exports = { redisTest, startRedis, haveRedis }
