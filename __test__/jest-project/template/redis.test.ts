// A Redis guard in a Jest worker under modern fake timers. Its calls go on a socket
// of the JS thread, so the timers that bound them must be ones no fake controls: a
// server that stops answering still fails the calls in flight after commandTimeoutMs,
// though the fake clock never moves. The server is the one user-project.mjs started.
import { expect, test } from '@jest/globals'
import { TaskGuard } from 'task-guard'

const url = process.env.TASK_GUARD_TEST_REDIS as string
const pid = Number(process.env.TASK_GUARD_TEST_REDIS_PID)

test('concurrent acquires get one grant a key; close leaves no handle', async () => {
  const guard = await TaskGuard.open({ store: url, namespace: `jest-${process.pid}` })
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => guard.acquire(`k${i % 20}`)))
  expect(answers.filter((a) => a.status === 'acquired')).toHaveLength(20)
  await guard.close()
})

test('a server that stops answering fails the call in flight after commandTimeoutMs', async () => {
  const guard = await TaskGuard.open({ store: url, namespace: `jest-stop-${process.pid}`, commandTimeoutMs: 300, connectTimeoutMs: 300 })
  expect((await guard.acquire('a')).status).toBe('acquired')
  process.kill(pid, 'SIGSTOP')
  try {
    await expect(guard.acquire('b')).rejects.toMatchObject({ code: 'ERR_TASK_GUARD_STORE_UNAVAILABLE' })
  } finally {
    process.kill(pid, 'SIGCONT')
  }
  expect((await guard.acquire('c')).status).toBe('acquired')
  await guard.close()
})
