// `await using` as a TypeScript user writes it: whatever acquire answers can be used.
import { expect, test } from '@jest/globals'
import { TaskGuard } from 'task-guard'

test('await using: a granted answer is released as cancelled at the end of its scope; a conflict disposes to nothing', async () => {
  const guard = new TaskGuard()
  let runId = ''
  {
    await using lease = await guard.acquire('report')
    expect(lease.status).toBe('acquired')
    if (lease.status === 'acquired') {
      runId = lease.runId
      expect((await lease.heartbeat()).status).toBe('extended')
    }
    await using dup = await guard.acquire('report')
    expect(dup.status).toBe('already_running')
  }
  expect((await guard.release('report', runId)).status).toBe('already_released')
  expect((await guard.acquire('report')).status).toBe('acquired')
  await guard.close()
})
