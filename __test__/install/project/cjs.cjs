// Run in the installed project: `require` through the package's CommonJS entry.
const { TaskGuard, taskKey, codes } = require('task-guard')

async function main() {
  const guard = new TaskGuard()
  const key = taskKey('install-check', 'sync')
  const first = await guard.acquire(key)
  const failed = await guard.release(key, first.runId, 'failed', { error: 'boom' })
  const blocked = await guard.acquire(key)
  const approved = await guard.approveRetry(key, { approvedBy: 'cjs' })
  const again = await guard.acquire(key)
  await guard.close()
  let closed = null
  try {
    await guard.acquire(key)
  } catch (err) {
    closed = err.code
  }
  console.log(
    JSON.stringify({
      resolved: require.resolve('task-guard'),
      answers: [first.status, failed.status, blocked.status, blocked.error, approved.status, again.status, again.attempt],
      closed: closed === codes.CLOSED ? closed : `unexpected ${closed}`,
    }),
  )
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
