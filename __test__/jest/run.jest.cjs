const { TaskGuard } = require('../..')

test('run() under Jest releases by outcome and blocks a failed key until approved', async () => {
  const g = new TaskGuard()
  await expect(g.run('k', async () => { throw new Error('nope') })).rejects.toThrow('nope')
  expect(await g.acquire('k')).toMatchObject({ status: 'awaiting_approval', error: 'nope' })
  expect(await g.approveRetry('k')).toMatchObject({ status: 'approved', nextAttempt: 2 })
  expect(await g.run('k', async (lease) => lease.attempt)).toMatchObject({ status: 'completed', value: 2 })
})
