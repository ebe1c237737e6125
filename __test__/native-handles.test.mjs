// The native functions take a guard's handle from the JS facade. Called directly with
// anything else — an object, another kind of native handle, a closed guard's — they
// refuse with a code, never read memory that is not a guard.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const native = createRequire(import.meta.url)('../lib/native.js')
const out = new Float64Array(64)

test('anything but a live guard handle is refused with ERR_TASK_GUARD_INVALID_ARG', () => {
  const h = native.guardOpen({}, out, undefined)
  assert.equal(typeof native.guardAcquire(h, 0, 'k', 'me', undefined, undefined, undefined), 'string')
  // Another native handle of this addon: an inspection in progress.
  const job = native.guardInspectBegin(h, undefined, undefined, 10, undefined, true)
  for (const notAGuard of [{}, null, undefined, 42, 'h', job, new Float64Array(2)]) {
    assert.throws(() => native.guardAcquire(notAGuard, 0, 'k', 'me', undefined, undefined, undefined), { code: 'ERR_TASK_GUARD_INVALID_ARG' }, typeof notAGuard)
    assert.throws(() => native.guardClose(notAGuard), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  }
  native.guardClose(h)
  assert.throws(() => native.guardAcquire(h, 0, 'k', 'me', undefined, undefined, undefined), { code: 'ERR_TASK_GUARD_CLOSED' })
})

test('a guard opened without an owner records its runs under the default owner it was opened with', () => {
  const h = native.guardOpen({ owner: 'host-a:1' }, out, undefined)
  native.guardAcquire(h, 0, 'k', undefined, undefined, undefined, undefined)
  const job = native.guardInspectBegin(h, undefined, undefined, 10, undefined, false)
  while (!native.guardInspectStep(h, job, 1));
  assert.equal(native.guardInspectResult(job).guards[0].owner, 'host-a:1')
  native.guardClose(h)
})

test('the plain N-API acquire and release check their arguments as the others do', () => {
  const h = native.guardOpen({ owner: 'me:1' }, out, undefined)
  const job = native.guardInspectBegin(h, undefined, undefined, 10, undefined, true)
  for (const notAGuard of [{}, null, job]) {
    assert.throws(() => native.guardAcquireFast(notAGuard, 'k'), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
    assert.throws(() => native.guardReleaseFast(notAGuard, 'k', 'r', 0), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  }
  assert.throws(() => native.guardAcquireFast(h, 42), { code: 'ERR_TASK_GUARD_INVALID_ARG', message: /key must be a string/ })
  // Arguments not passed at all: refused as missing, never read.
  assert.throws(() => native.guardAcquireFast(h), { code: 'ERR_TASK_GUARD_INVALID_ARG', message: /key must be a string/ })
  assert.throws(() => native.guardAcquireFast(), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  assert.throws(() => native.guardReleaseFast(h, 'k'), { code: 'ERR_TASK_GUARD_INVALID_ARG', message: /runId must be a string/ })
  assert.throws(() => native.guardReleaseFast(h, 'k', '0189f7a2-3b4c-7d5e-8f60-123456789abc'), { code: 'ERR_TASK_GUARD_INVALID_ARG', message: /status/ })
  assert.throws(() => native.guardAcquireFast(h, 'k', undefined, 'soon'), { code: 'ERR_TASK_GUARD_INVALID_ARG', message: /ttlMs must be a number/ })
  assert.throws(() => native.guardAcquireFast(h, 'k', undefined, -1), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  assert.throws(() => native.guardAcquireFast(h, ''), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  // A key longer than the stack buffer is read whole.
  const long = 'k'.repeat(900) + 'é'
  const first = native.guardAcquireFast(h, long)
  assert.equal(out[0], 0, 'acquired')
  assert.equal(native.guardAcquireFast(h, long), `${first.slice(0, 36)}me:1`, 'a conflict with that run: the same key, read the same way')
  assert.equal(out[0], 1, 'already_running')
  const text = native.guardAcquireFast(h, 'k2')
  assert.throws(() => native.guardReleaseFast(h, 'k2', text.slice(0, 36), 'succeeded'), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  assert.throws(() => native.guardReleaseFast(h, 'k2', text.slice(0, 36), 9), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  assert.equal(native.guardReleaseFast(h, 'k2', text.slice(0, 36), 0), null, 'released: nothing to send back but the numbers')
  native.guardClose(h)
  assert.throws(() => native.guardAcquireFast(h, 'k'), { code: 'ERR_TASK_GUARD_CLOSED' })
})

test('the plain N-API acquire answers undefined when its strings are the last answer\'s, and a new string when they change', () => {
  const h = native.guardOpen({ owner: 'me:1' }, out, undefined)
  const granted = native.guardAcquireFast(h, 'k')
  const runId = granted.slice(0, 36)
  const conflict = native.guardAcquireFast(h, 'k')
  assert.equal(conflict, `${runId}me:1`)
  assert.equal(native.guardAcquireFast(h, 'k'), undefined, 'the same run id and owner again: not sent again')
  assert.equal(out[0], 1, 'already_running: the numbers are written all the same')
  assert.equal(out[13], 36, 'with the lengths to cut the kept text by')
  // Another method's answer in between is the last answer now, whatever it said.
  assert.equal(typeof native.guardAcquire(h, 0, 'other', 'you:2', undefined, undefined, undefined), 'string')
  assert.equal(native.guardAcquireFast(h, 'k'), `${runId}me:1`, 'after another answer, the strings are sent again')
  assert.equal(native.guardReleaseFast(h, 'k', runId, 0), null)
  const next = native.guardAcquireFast(h, 'k', 'you:2')
  assert.notEqual(next.slice(0, 36), runId)
  assert.equal(native.guardAcquireFast(h, 'k'), `${next.slice(0, 36)}you:2`, 'a new run of the key: its own strings')
  native.guardClose(h)
})

test('guardReleaseLast releases the last run granted, as a release naming it would, and refuses without one', () => {
  const h = native.guardOpen({ owner: 'me:1' }, out, undefined)
  assert.throws(() => native.guardReleaseLast(h, 0), { code: 'ERR_TASK_GUARD_INVALID_ARG', message: /no run was granted/ })
  const a = native.guardAcquireFast(h, 'a').slice(0, 36)
  const b = native.guardAcquireFast(h, 'b').slice(0, 36)
  assert.throws(() => native.guardReleaseLast(h), { code: 'ERR_TASK_GUARD_INVALID_ARG', message: /status/ })
  assert.throws(() => native.guardReleaseLast(h, 9), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  assert.equal(native.guardReleaseLast(h, 1), null)
  assert.equal(out[0], 3, "released: b's run, the last granted")
  native.guardReleaseLast(h, 1)
  assert.equal(out[0], 6, 'already_released, as releasing b again by its run id answers')
  native.guardReleaseFast(h, 'b', b, 1)
  assert.equal(out[0], 6)
  native.guardReleaseFast(h, 'a', a, 0)
  assert.equal(out[0], 3, "a's run was never touched by the releases of the last grant")
  // A conflict grants nothing: the last grant is still b's.
  native.guardAcquireFast(h, 'c')
  native.guardAcquireFast(h, 'c')
  native.guardReleaseLast(h, 0)
  assert.equal(out[0], 3, "released: c's run")
  native.guardClose(h)
  assert.throws(() => native.guardReleaseLast(h, 0), { code: 'ERR_TASK_GUARD_CLOSED' })
})

test('guardAcquireFast with times answers queued duplicates as far as one answer goes, and refuses a bad count', () => {
  // The count is in the slot after the answer's.
  const { SLOTS } = createRequire(import.meta.url)('../lib/answers.js')
  const wide = new Float64Array(SLOTS + 1)
  const h = native.guardOpen({ owner: 'me:1' }, wide, undefined)
  const repeat = (key, times) => native.guardAcquireFast(h, key, undefined, undefined, undefined, undefined, times)
  for (const bad of [0, -1, 1.5, 65537, Number.NaN, Infinity, 'three', {}, true]) {
    assert.throws(() => repeat('k', bad), { code: 'ERR_TASK_GUARD_INVALID_ARG', message: /times/ }, String(bad))
  }
  assert.throws(() => repeat('', 3), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  // A grant changes the key: it answers only the first of the five.
  const run = repeat('k', 5).slice(0, 36)
  assert.equal(wide[0], 0, 'acquired')
  assert.equal(wide[SLOTS], 1)
  // The four made again conflict with it: one answer for all four.
  repeat('k', 4)
  assert.equal(wide[0], 1, 'already_running')
  assert.equal(wide[SLOTS], 4)
  // Without times (or with undefined), one acquire, as before.
  native.guardAcquireFast(h, 'k')
  assert.equal(wide[SLOTS], 1)
  native.guardReleaseFast(h, 'k', run, 0)
  assert.equal(wide[0], 3, 'the grant was the one run')
  native.guardClose(h)
  assert.throws(() => repeat('k', 2), { code: 'ERR_TASK_GUARD_CLOSED' })
})
