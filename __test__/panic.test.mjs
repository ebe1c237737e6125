// A panic in native code never hangs or aborts the process: every call it
// touches rejects with ERR_TASK_GUARD_INTERNAL. The panics are real ones, made
// by a build of the addon with the `fault-injection` feature (never published):
// a key, store path or URL containing `task-guard-panic-<point>` panics there.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import redis from './redis-helpers.cjs'

const ROOT = path.resolve(new URL('..', import.meta.url).pathname)
const SCENARIOS = path.join(ROOT, '__test__', 'fixtures', 'panic-scenarios.mjs')
const redisOpts = redis.redisTest()
let faulty
let server
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'task-guard-panic-'))

before(async () => {
  const built = spawnSync('cargo', ['build', '--features', 'fault-injection', '--message-format=json-render-diagnostics'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  })
  assert.equal(built.status, 0, built.stderr)
  const artifact = built.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .find((m) => m.reason === 'compiler-artifact' && m.target?.name === 'task_guard' && m.target.kind.includes('cdylib'))
  const lib = artifact.filenames.find((f) => /\.(so|dylib|dll)$/.test(f))
  faulty = path.join(dir, 'task-guard-faults.node')
  fs.copyFileSync(lib, faulty)
  if (!redisOpts.skip) server = await redis.startRedis()
})
after(async () => {
  await server?.stop()
})

/** Runs one scenario in a child process; its JSON report, and how the child ended. */
function scenario(name, { binary = faulty, arg = '' } = {}) {
  const env = { ...process.env }
  if (binary) env.NAPI_RS_NATIVE_LIBRARY_PATH = binary
  else delete env.NAPI_RS_NATIVE_LIBRARY_PATH
  const child = spawnSync(process.execPath, [SCENARIOS, name, arg], { encoding: 'utf8', env, timeout: 60_000 })
  assert.equal(child.signal, null, `the ${name} scenario hung or aborted (signal ${child.signal}); stderr: ${child.stderr}`)
  assert.equal(child.status, 0, `the ${name} scenario failed: ${child.stderr}`)
  return { report: JSON.parse(child.stdout), stderr: child.stderr }
}

const INTERNAL = 'ERR_TASK_GUARD_INTERNAL'

test('memory store: a panic in the binding or the store rejects that call; the guard goes on', () => {
  const { report, stderr } = scenario('memory')
  assert.deepEqual(report.binding, { code: INTERNAL, realm: true })
  assert.deepEqual(report.store, { code: INTERNAL, realm: true })
  assert.match(report.message, /internal error \(a bug; please report it\): injected at store/)
  assert.equal(report.after, 'acquired')
  assert.equal(report.again, 'already_running')
  assert.equal(report.burst.internal, 1, 'only the panicking call of a burst of 1,000 failed')
  assert.equal(report.burst.acquired, 999)
  assert.deepEqual(report.queuedDuplicates, { outcomes: [INTERNAL], next: 'acquired' }, 'each queued duplicate of the panicking key was refused')
  assert.match(stderr, /panicked/, 'the panic is reported on stderr')
})

test('SQLite: a panicking batch is rolled back and answered; a dead store thread answers every later call; open panics reject', () => {
  const { report } = scenario('sqlite', { arg: dir })
  assert.equal(report.batch.panicked, INTERNAL)
  for (const [key, answer] of Object.entries(report.batch.others)) {
    assert.ok(answer === 'acquired' || answer === INTERNAL, `${key}: ${answer}`)
    // Nothing of a batch that panicked was committed.
    assert.equal(report.batch.running.includes(key), answer === 'acquired', key)
  }
  assert.equal(report.afterBatch, 'acquired')
  assert.equal(report.binding, INTERNAL)
  assert.equal(report.thread, INTERNAL)
  assert.deepEqual(report.afterThread, [INTERNAL, INTERNAL, INTERNAL])
  assert.equal(report.closed, true)
  assert.equal(report.open, INTERNAL)
  assert.equal(report.otherGuard, 'acquired', 'another guard of the process is unaffected')
})

test('Redis: a panicking call is answered; a panic on the wire answers every call in flight and the next reconnects; a dead store thread answers every later inspection; a panic while connecting rejects the open', redisOpts, () => {
  const { report } = scenario('redis', { arg: server.url })
  assert.equal(report.job, INTERNAL)
  assert.equal(report.afterJob, 'acquired')
  assert.equal(report.wire[0], INTERNAL)
  // Answered before the panic (acquired), or in flight behind it (refused with it); none left waiting.
  assert.equal(report.wire.length, 61)
  assert.ok(report.wire.every((o) => o === 'acquired' || o === INTERNAL), report.wire.join())
  assert.ok(report.wire.filter((o) => o === INTERNAL).length > 1, 'the calls in flight behind the panic were refused')
  assert.equal(report.afterWire, 'acquired', 'the next call reconnects')
  assert.equal(report.thread, INTERNAL)
  assert.deepEqual(report.afterThread, ['acquired', INTERNAL], 'calls go on; inspections are refused')
  assert.equal(report.closed, true)
  assert.equal(report.open, INTERNAL)
})

test('the published build has no panic points: the same keys are plain keys there', () => {
  const { report } = scenario('memory', { binary: null })
  assert.equal(report.binding, 'acquired')
  assert.equal(report.store, 'acquired')
})
