// fingerprint(value): the same JSON value hashes alike however it was built;
// what JSON cannot hold is refused with a code.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { fingerprint, TaskGuard } from '../index.mjs'

test('equal payloads fingerprint alike whatever their key order; any difference shows', () => {
  const a = fingerprint({ b: 1, a: { y: [1, 2], x: 'é' } })
  assert.match(a, /^sha256:[0-9a-f]{64}$/)
  assert.equal(fingerprint({ a: { x: 'é', y: [1, 2] }, b: 1 }), a)
  assert.notEqual(fingerprint({ a: { x: 'é', y: [2, 1] }, b: 1 }), a, 'arrays keep their order')
  assert.notEqual(fingerprint({ b: 1, a: { y: [1, 2], x: 'e' } }), a)
  assert.equal(fingerprint('x'), `sha256:${createHash('sha256').update('"x"').digest('hex')}`)
  assert.equal(fingerprint({ at: new Date(0) }), fingerprint({ at: '1970-01-01T00:00:00.000Z' }), 'toJSON is honoured')
  assert.equal(fingerprint(null), fingerprint(null))
})

test('what JSON cannot hold is refused with ERR_TASK_GUARD_INVALID_ARG', () => {
  const cycle = {}
  cycle.self = cycle
  const throwing = { get x() { throw new Error('nope') } }
  for (const bad of [undefined, () => 1, Symbol('s'), 1n, { n: 1n }, cycle, throwing]) {
    assert.throws(() => fingerprint(bad), (e) => e instanceof Error && e.code === 'ERR_TASK_GUARD_INVALID_ARG', String(typeof bad))
  }
})

test('a fingerprint option that is not a well-formed string of at most 256 bytes is refused and changes nothing', async () => {
  const g = new TaskGuard()
  for (const bad of [42, {}, 'x'.repeat(257), 'a\uD800']) {
    await assert.rejects(g.acquire('k', { fingerprint: bad }), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  }
  assert.equal((await g.inspect()).guards.length, 0)
  assert.equal((await g.acquire('k', { fingerprint: 'x'.repeat(256) })).status, 'acquired')
  await g.close()
})

test('run() passes its fingerprint on: a different payload is answered payload_mismatch without calling fn', async () => {
  const g = new TaskGuard()
  let release
  const first = g.run('k', () => new Promise((r) => (release = r)), { fingerprint: fingerprint({ n: 1 }) })
  let called = false
  const second = await g.run('k', () => { called = true }, { fingerprint: fingerprint({ n: 2 }) })
  assert.equal(second.status, 'payload_mismatch')
  assert.equal(called, false)
  release('done')
  assert.equal((await first).status, 'completed')
  await g.close()
})
