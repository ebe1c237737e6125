// Calls settle under every kind of fake timers: a guard must never wait on a timer the
// test owns. Sequential pairs across tests, and bursts large enough to be sliced.
import { afterAll, describe, expect, jest, test } from '@jest/globals'
import { TaskGuard } from 'task-guard'

const guard = new TaskGuard()
afterAll(() => guard.close())

async function pairs(prefix: string, n: number) {
  for (let i = 0; i < n; i++) {
    const r = await guard.acquire(`${prefix}:${i}`)
    expect(r.status).toBe('acquired')
    if (r.status === 'acquired') expect((await guard.release(r.key, r.runId)).status).toBe('released')
  }
}

async function burst(prefix: string) {
  // 5000 calls in one turn: more than one slice, so some are queued and drained later.
  const answers = await Promise.all(Array.from({ length: 5000 }, (_, i) => guard.acquire(`${prefix}:${i % 50}`)))
  expect(answers.filter((a) => a.status === 'acquired')).toHaveLength(50)
  expect(answers.filter((a) => a.status === 'already_running')).toHaveLength(4950)
}

describe('modern fake timers (enabled globally)', () => {
  for (let t = 0; t < 4; t++) test(`10 acquire/release pairs, test ${t}`, () => pairs(`modern${t}`, 10))
  test('a sliced burst settles', () => burst('modern-burst'))
  test('and pairs after it', () => pairs('modern-after', 10))
})

describe('modern fake timers, nextTick and setImmediate real', () => {
  test('a burst, then pairs', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] })
    await burst('partial-burst')
    await pairs('partial', 10)
  })
})

describe('legacy fake timers', () => {
  test('a burst, then pairs', async () => {
    jest.useFakeTimers({ legacyFakeTimers: true })
    await burst('legacy-burst')
    await pairs('legacy', 10)
    jest.useFakeTimers()
  })
})
