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
