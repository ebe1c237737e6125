// Jest runs tests in vm contexts with its own module registry: this proves the
// addon loads there and its answers are usable.
const { TaskGuard, taskKey } = require('../..')

test('the addon loads under Jest and grants one run per key', async () => {
  const g = new TaskGuard()
  const key = taskKey('agent:main:web:1', 'report')
  const [a, b] = await Promise.all([g.acquire(key), g.acquire(key)])
  expect(a.status).toBe('acquired')
  expect(b).toMatchObject({ status: 'already_running', runId: a.runId })
  expect(await g.release(key, a.runId)).toMatchObject({ status: 'released' })
})

test('errors keep their code across the Jest sandbox', async () => {
  const g = new TaskGuard()
  await expect(g.acquire('')).rejects.toMatchObject({ code: 'ERR_TASK_GUARD_INVALID_ARG' })
  expect(() => new TaskGuard({ onStale: 'nope' })).toThrow(expect.objectContaining({ code: 'ERR_TASK_GUARD_INVALID_ARG' }))
})
