// task-guard/testing's manual clock: time moves only when the test says, and run()'s
// heartbeats move with it.
import { afterEach, expect, test } from '@jest/globals'
import { TaskGuard } from 'task-guard'
import { manualClock } from 'task-guard/testing'

let guard: TaskGuard
afterEach(() => guard.close())

test('expiry on the manual clock', async () => {
  const clock = manualClock(Date.UTC(2026, 0, 1))
  guard = new TaskGuard({ clock })
  const r = await guard.acquire('k', { ttlMs: 1000 })
  expect(r.status === 'acquired' && r.startedAt).toBe(Date.UTC(2026, 0, 1))
  clock.advance(999)
  expect((await guard.inspect()).guards[0].state).toBe('running')
  clock.advance(1) // at expiresAt the run is stale
  expect((await guard.inspect()).guards[0].state).toBe('stale')
})

test('run() heartbeats on the clock it was given, and stops when it ends', async () => {
  const clock = manualClock()
  guard = new TaskGuard({ clock })
  const out = await guard.run(
    'k',
    async () => {
      expect(clock.pending).toBe(1)
      clock.advance(5000)
      return (await guard.inspect()).guards[0].state
    },
    { ttlMs: 1000 },
  )
  expect(out.status === 'completed' && out.value).toBe('running')
  expect(clock.pending).toBe(0)
})

test('a clock that throws or answers nonsense is refused with a code', async () => {
  guard = new TaskGuard({ clock: () => Number.NaN })
  await expect(guard.acquire('k')).rejects.toMatchObject({ code: 'ERR_TASK_GUARD_INVALID_ARG' })
  await expect(TaskGuard.open({ store: 'sqlite:./never.db', clock: () => 0 })).rejects.toMatchObject({ code: 'ERR_TASK_GUARD_INVALID_ARG' })
})
