'use strict'

// How a guarded tool call ends. Most end when OpenClaw reports the call finished; an
// `exec` that backgrounds (after `yieldMs`, or at once with `background: true`) answers
// `status: "running"` with a process session id, and its command runs on. OpenClaw
// records that command's end in its task registry (run id `exec:<sessionId>`, finalized
// when the process exits, `cancelled` on `process kill`, `lost` if the gateway died),
// which plugins read through `api.runtime.tasks`; no hook announces it.

/** The process session of an exec that went to the background, or null (it finished, or never ran). */
function backgroundedSession(result) {
  const d = result?.details
  if (d?.status !== 'running' || typeof d.sessionId !== 'string' || d.sessionId === '') return null
  return { sessionId: d.sessionId, pid: Number.isInteger(d.pid) ? d.pid : null }
}

const failure = (rule, error) => ({ status: rule.onError === 'block' ? 'failed' : 'cancelled', error })

/** A finished call's release: a thrown error, a failed command or a non-zero exit fails it by the rule's onError. */
function toolCallEnd(event, rule) {
  const d = event.result?.details
  if (event.error) return failure(rule, String(event.error))
  if (d?.status === 'failed') return failure(rule, d.failureKind ? `command failed (${d.failureKind})` : 'command failed')
  if (d?.status === 'completed' && Number.isInteger(d.exitCode) && d.exitCode !== 0) return failure(rule, `exit code ${d.exitCode}`)
  return { status: 'succeeded' }
}

/**
 * The release for a background command as OpenClaw's task registry records it, or
 * undefined while it runs. `interrupted` is how a run whose end was lost is ended.
 */
function backgroundEnd(task, rule, interrupted) {
  switch (task.status) {
    case 'queued':
    case 'running':
      return undefined
    case 'succeeded':
      return { status: 'succeeded' }
    case 'failed':
    case 'timed_out':
      return failure(rule, task.error ?? task.terminalSummary ?? task.status)
    case 'cancelled':
      return { status: 'cancelled', error: task.error ?? 'stopped on request' }
    default:
      return { status: interrupted, error: `OpenClaw lost track of the command (${task.status})` }
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return err.code === 'EPERM'
  }
}

/**
 * A probe for a background command (see HeldRuns): reads its task through
 * `getTasks()` (OpenClaw's `api.runtime.tasks`). A command with no task record (OpenClaw
 * could not file one) is over when its process is gone.
 */
function backgroundProbe({ getTasks, sessionKey, session, rule, interrupted }) {
  return async () => {
    const tasks = getTasks()
    const task = await tasks?.async?.runs?.bindSession({ sessionKey }).resolve(`exec:${session.sessionId}`)
    if (task !== undefined && task !== null) return backgroundEnd(task, rule, interrupted)
    if (session.pid !== null && pidAlive(session.pid)) return undefined
    return { status: interrupted, error: 'OpenClaw recorded no end for the command and its process is gone' }
  }
}

/** What a duplicate of a background command is told besides the conflict. */
function backgroundHint(sessionId) {
  return (
    `It runs in the background as process session ${sessionId}: check on it with the process tool ` +
    `(poll or log) instead of starting it again.`
  )
}

module.exports = { backgroundedSession, toolCallEnd, backgroundEnd, backgroundProbe, backgroundHint }
