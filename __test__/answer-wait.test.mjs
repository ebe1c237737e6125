// The JS thread's wait for a durable store's answer (lib/answer-wait.js): it turns
// the event loop while one or two answers are due, for a bounded time, and lets the
// loop sleep otherwise. Watched through the immediates the loop holds.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const { AnswerWait, TURN_MS } = createRequire(import.meta.url)('../lib/answer-wait.js')
// Wide enough that no pause of a loaded machine ends a turning the test expects.
const WIDE_MS = 60_000
const turning = () => process.getActiveResourcesInfo().includes('Immediate')
const turn = () => new Promise((resolve) => setImmediate(resolve))

test('turns while an answer is due, stops when none is, and again when one is', async (t) => {
  let due = 1
  t.after(() => (due = 0))
  const wait = new AnswerWait(() => due, WIDE_MS)
  wait.poke()
  for (let i = 0; i < 5; i++) {
    await turn()
    assert.ok(turning(), `still turning after ${i + 1} turns`)
  }
  due = 0
  await turn()
  await turn()
  assert.ok(!turning(), 'nothing due: the loop may sleep')
  due = 2
  wait.poke()
  await turn()
  await turn()
  assert.ok(turning(), 'two due: turning again')
  due = 0
  await turn()
  await turn()
})

test('with many answers due it does not turn: they come in batches, one wake-up each', async (t) => {
  let due = 1
  t.after(() => (due = 0))
  const wait = new AnswerWait(() => due, WIDE_MS)
  wait.poke()
  due = 64
  await turn()
  await turn()
  assert.ok(!turning())
})

test('it turns for a bounded time after the last call or answer, then lets the loop sleep', async (t) => {
  let due = 1
  t.after(() => (due = 0))
  const wait = new AnswerWait(() => due)
  // Read before the poke: the bound runs from the poke, so no later reading can fall short of it.
  const start = performance.now()
  wait.poke()
  while (turning()) {
    await turn()
    assert.ok(performance.now() - start < 1_000, 'still turning after a second with nothing sent or answered')
  }
  assert.ok(performance.now() - start >= TURN_MS, 'turned for its bound first')
})

test('an answer that leaves none due does not start a turn', () => {
  const wait = new AnswerWait(() => 0, WIDE_MS)
  wait.poke()
  assert.ok(!turning(), 'the last answer came: nothing to turn for')
})
