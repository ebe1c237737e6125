// Every refusal is an Error of this test's realm (Jest runs each file in a vm context
// with its own Error) with its code, whether JavaScript or the native layer raised it.
import { expect, test } from '@jest/globals'
import { TaskGuard, codes } from 'task-guard'

test('native refusals are Errors of this realm', async () => {
  let thrown: unknown
  try {
    new TaskGuard({ onStale: 'sometimes' as 'heal' })
  } catch (err) {
    thrown = err
  }
  expect(thrown).toBeInstanceOf(Error)
  expect(thrown).toMatchObject({ code: codes.INVALID_ARG })

  const guard = new TaskGuard()
  await expect(guard.acquire('x'.repeat(5000))).rejects.toBeInstanceOf(Error)
  await expect(guard.acquire('x'.repeat(5000))).rejects.toMatchObject({ code: codes.INVALID_ARG })
  await expect(TaskGuard.open({ store: 'nope:' as 'memory:' })).rejects.toBeInstanceOf(Error)
  await guard.close()
  await expect(guard.acquire('k')).rejects.toBeInstanceOf(Error)
})

test('a store that cannot be opened rejects with an Error of this realm', async () => {
  const err = await TaskGuard.open({ store: 'sqlite:/nonexistent-dir/sub/guards.db' }).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(Error)
  expect(err).toMatchObject({ code: codes.STORE_UNAVAILABLE })
})
