// A SQLite guard in a Jest worker: answers, a failure blocking until approved, and a
// clean close (the suite runs with --detectOpenHandles).
import { afterAll, expect, test } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { TaskGuard } from 'task-guard'

const dir = mkdtempSync(path.join(tmpdir(), 'tg-jest-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('acquire, conflict, failure, approval, close', async () => {
  const guard = await TaskGuard.open({ store: `sqlite:${path.join(dir, 'guards.db')}` })
  const first = await guard.acquire('build')
  expect(first.status).toBe('acquired')
  expect((await guard.acquire('build')).status).toBe('already_running')
  if (first.status !== 'acquired') throw new Error('not acquired')
  await guard.release('build', first.runId, 'failed', { error: 'boom' })
  const blocked = await guard.acquire('build')
  expect(blocked).toMatchObject({ status: 'awaiting_approval', error: 'boom' })
  await guard.approveRetry('build', { approvedBy: 'jest' })
  expect(await guard.acquire('build')).toMatchObject({ status: 'acquired', attempt: 2 })
  await guard.close()
})

test('several guards opened and closed leave no handle behind', async () => {
  for (let i = 0; i < 5; i++) {
    const guard = await TaskGuard.open({ store: `sqlite:${path.join(dir, `g${i}.db`)}` })
    await guard.acquire('k')
    await guard.close()
  }
})
