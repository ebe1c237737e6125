// Run in the installed project: `require` through the package's CommonJS entry.
const { TaskGuard, taskKey, codes } = require('task-guard')
// The OpenClaw helpers, from CommonJS, in a project without OpenClaw.
const { guardTrigger, taskOfMessage } = require('task-guard/openclaw')

async function main() {
  const guard = new TaskGuard()
  const key = taskKey('install-check', 'sync')
  const first = await guard.acquire(key)
  const failed = await guard.release(key, first.runId, 'failed', { error: 'boom' })
  const blocked = await guard.acquire(key)
  const approved = await guard.approveRetry(key, { approvedBy: 'cjs' })
  const again = await guard.acquire(key)
  const triggered = await guardTrigger(guard, { sessionKey: 'agent:main:x', task: 'deploy' }, async () => 'done')
  const outcome = await triggered.outcome
  const task = taskOfMessage([{ match: /^\/deploy\b/, task: 'deploy' }], '/deploy prod')
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
      helpers: { resolved: require.resolve('task-guard/openclaw'), outcome, task },
      answers: [first.status, failed.status, blocked.status, blocked.error, approved.status, again.status, again.attempt],
      closed: closed === codes.CLOSED ? closed : `unexpected ${closed}`,
    }),
  )
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
