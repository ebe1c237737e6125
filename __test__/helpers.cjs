'use strict'
const assert = require('node:assert/strict')

/** Asserts that `promise` rejects with an Error carrying `code`. */
async function rejectsWith(promise, code, pattern) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Error, 'rejects with an Error')
    assert.equal(err.code, code, `code of: ${err.message}`)
    if (pattern) assert.match(err.message, pattern)
    return true
  })
}

/** A snapshot of everything inspect shows, to prove a refused call changed nothing. */
async function snapshot(guard) {
  const { guards, counts } = await guard.inspect()
  return JSON.stringify({ guards, counts })
}

/**
 * A memory-store guard on a clock the test moves (the public `clock` option):
 * its leases age only when told, whatever real time does.
 */
function onClock(options = {}) {
  const { TaskGuard } = require('..')
  let now = Date.now()
  const guard = new TaskGuard({ ...options, clock: () => now })
  return { guard, advance: (ms) => void (now += ms) }
}

module.exports = { rejectsWith, snapshot, onClock }
