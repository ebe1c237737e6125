'use strict'
const assert = require('node:assert/strict')
const fs = require('node:fs')

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

/** libfaketime where Debian and others install it, or null (CI installs it). */
const libfaketime =
  [
    '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
    '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
    '/usr/lib/faketime/libfaketime.so.1',
    '/usr/local/lib/faketime/libfaketime.so.1',
  ].find((f) => fs.existsSync(f)) ?? null

/**
 * The environment of a child whose wall clock is `offset` off (libfaketime's
 * FAKETIME syntax: '-3h'), loaded with LD_PRELOAD. Not the faketime command: it
 * keeps a named semaphore per process id in /dev/shm, and where a killed run left
 * one behind, a later process given that id fails with "sem_open: File exists".
 */
function fakeTimeEnv(offset) {
  return { ...process.env, LD_PRELOAD: libfaketime, FAKETIME: offset }
}

module.exports = { rejectsWith, snapshot, onClock, libfaketime, fakeTimeEnv }
