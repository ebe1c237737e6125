// Calls made together whose answers differ in what they carry: an error (a record
// of a newer format), events, or neither. On a durable store they come back in
// one batch of answers (src/binding/replies.rs); each must reach its own call.
import assert from 'node:assert/strict'

const NOT_A_RUN = '0189f7a2-3b4c-7d5e-8f60-123456789abc'

/** `g` holds runs of 'held' and 'other'; `newer` is a key whose record has format version 2. */
export async function checkMixedBatch(g, held, other, newer) {
  const events = []
  const off = g.onEvent((e) => events.push(e))
  // Answers that carry nothing more come before and between the others, in
  // whatever batches the store makes of them.
  const settled = await Promise.allSettled([
    g.heartbeat('held', held.runId),
    g.heartbeat('unknown', NOT_A_RUN),
    g.acquire(newer),
    g.release('done-before', NOT_A_RUN),
    g.acquire('free'),
    g.acquire('other'),
  ])
  off()
  const [beat, notRunning, refused, notHeld, free, dup] = settled
  assert.equal(beat.value.status, 'extended')
  assert.equal(beat.value.runId, held.runId)
  assert.equal(refused.status, 'rejected')
  assert.equal(refused.reason.code, 'ERR_TASK_GUARD_STORE_VERSION')
  assert.match(refused.reason.message, /format version 2/)
  assert.equal(free.value.status, 'acquired')
  assert.equal(free.value.key, 'free')
  assert.deepEqual([dup.value.status, dup.value.runId, dup.value.owner], ['already_running', other.runId, other.owner])
  assert.deepEqual([notRunning.value.status, notRunning.value.key], ['not_running', 'unknown'])
  assert.deepEqual([notHeld.value.status, notHeld.value.key], ['not_running', 'done-before'])
  assert.deepEqual(
    events.map((e) => [e.type, e.key, e.runId]),
    [
      ['acquired', 'free', free.value.runId],
      ['conflict', 'other', other.runId],
    ],
  )
}
