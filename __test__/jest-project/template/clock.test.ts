// The guard on Jest's fake clock: `clock: () => Date.now()`. Expiry and run()'s
// heartbeats both follow advanceTimersByTime and setSystemTime.
import { afterEach, expect, jest, test } from '@jest/globals'
import { TaskGuard } from 'task-guard'

let guard: TaskGuard
afterEach(() => guard.close())

test('a run goes stale when the fake clock passes its ttl, and the next acquire heals it', async () => {
  guard = new TaskGuard({ clock: () => Date.now() })
  const first = await guard.acquire('report', { ttlMs: 60_000 })
  jest.advanceTimersByTime(59_999)
  expect((await guard.inspect()).guards[0].state).toBe('running')
  jest.advanceTimersByTime(2)
  expect((await guard.inspect()).guards[0].state).toBe('stale')
  const next = await guard.acquire('report')
  expect(next.status).toBe('acquired')
  if (next.status === 'acquired' && first.status === 'acquired') expect(next.healedFrom?.runId).toBe(first.runId)
})

test("run()'s heartbeats keep its run alive while the fake clock moves on", async () => {
  guard = new TaskGuard({ clock: () => Date.now() })
  const out = await guard.run(
    'deploy',
    async () => {
      jest.advanceTimersByTime(10 * 60_000) // ten ttls; heartbeats every ttl/3
      return (await guard.acquire('deploy')).status
    },
    { ttlMs: 60_000 },
  )
  expect(out.status).toBe('completed')
  if (out.status === 'completed') {
    expect(out.value).toBe('already_running')
    expect(out.release).toBe('released')
  }
})

test('setSystemTime moves the guard: a jump past the ttl makes the run stale', async () => {
  guard = new TaskGuard({ clock: () => Date.now() })
  await guard.acquire('sync', { ttlMs: 1000 })
  jest.setSystemTime(Date.now() + 3_600_000)
  expect((await guard.inspect()).guards[0].state).toBe('stale')
})
