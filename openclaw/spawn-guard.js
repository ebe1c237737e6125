'use strict'

// Guards OpenClaw's `sessions_spawn` tool. A child runs in the `subagent` lane and
// the tool answers `accepted` at once, so a guard taken inside the child's work would
// block nothing: the key is taken when the spawn is asked for (before_tool_call),
// filed under the child's session key once OpenClaw accepts it (after_tool_call) and
// released by the child's outcome (subagent_ended). A child that succeeds leaves its
// final text (from its own agent_end) as the run's result, for a duplicate that joins.

const { taskKey } = require('../lib/task-key')
const { acquireOrRefuse, callId } = require('./messages')
const { finalText, fitResult, joinRun, turnFailure } = require('./results')

const SPAWN_TOOL = 'sessions_spawn'

/** The guard key of a spawn, or null when the spawn names no task (it is not guarded). */
function spawnKey(params, sessionKey) {
  const taskName = typeof params?.taskName === 'string' ? params.taskName.trim() : ''
  if (taskName === '' || typeof sessionKey !== 'string' || sessionKey === '') return null
  return taskKey(sessionKey, taskName)
}

/** A child's outcome → release status: errors and timeouts fail (and block until approved). */
function endedStatus(event) {
  switch (event.outcome) {
    case 'ok':
      return 'succeeded'
    case 'error':
    case 'timeout':
      return 'failed'
    case 'killed':
    case 'reset':
    case 'deleted':
    case 'unknown':
      return 'cancelled'
    default:
      return event.error ? 'failed' : 'succeeded'
  }
}

/** The accepted child of a `sessions_spawn` result, or null (rejected, errored, blocked). */
function acceptedChild(result) {
  const details = result?.details
  if (details?.status !== 'accepted') return null
  if (typeof details.childSessionKey !== 'string' || details.childSessionKey === '') return null
  return { childSessionKey: details.childSessionKey, runId: details.runId ?? null }
}

/**
 * Handlers for `before_tool_call`, `after_tool_call` and `subagent_ended`.
 * `getGuard()` returns (a promise of) a TaskGuard; `held` is a {@link HeldRuns}.
 */
function createSpawnGuard({ getGuard, held, ttlMs, acceptTimeoutMs = 120_000, onDuplicate = 'answer', joinTimeoutMs = 120_000, origin = {} }) {
  return {
    async beforeToolCall(event, ctx) {
      if (event.toolName !== SPAWN_TOOL) return undefined
      const key = spawnKey(event.params, ctx.sessionKey)
      if (key === null) return undefined
      const what = `Task "${event.params.taskName.trim()}"`
      const { run, refusal, conflict } = await acquireOrRefuse(getGuard, key, what, {
        owner: `openclaw:${ctx.sessionKey}`,
        ttlMs,
        meta: { ...origin, kind: 'spawn', sessionKey: ctx.sessionKey, tool: SPAWN_TOOL, agentId: ctx.agentId ?? null, toolCallId: callId(event, ctx) },
      })
      if (refusal !== undefined && onDuplicate === 'join' && conflict?.status === 'already_running') {
        // The child runs in the subagent lane, not this turn's: waiting here cannot hold it
        // up. The block reason is what the model reads as this call's result.
        return { block: true, blockReason: await joinRun(getGuard, conflict, what, { waitMs: joinTimeoutMs, signal: ctx.abortSignal }) }
      }
      if (refusal !== undefined) return { block: true, blockReason: refusal }
      // Until OpenClaw reports the spawn accepted; the key is unique while we hold it.
      held.hold(`spawn:${key}`, run, { toolCallId: callId(event, ctx), holdForMs: acceptTimeoutMs, onExpire: 'cancelled' })
      return undefined
    },

    async afterToolCall(event, ctx) {
      if (event.toolName !== SPAWN_TOOL) return
      const key = spawnKey(event.params, ctx.sessionKey)
      if (key === null || held.forCall(`spawn:${key}`, callId(event, ctx)) === undefined) return
      const child = event.error ? null : acceptedChild(event.result)
      if (child === null) {
        // Nothing was started: free the key, keeping why.
        const why = event.error ?? `spawn not accepted (${event.result?.details?.status ?? 'no result'})`
        await held.release(`spawn:${key}`, 'cancelled', why)
        return
      }
      held.rename(`spawn:${key}`, `child:${child.childSessionKey}`, {
        childSessionKey: child.childSessionKey,
        childRunId: child.runId,
        holdUntil: undefined,
        onExpire: undefined,
      })
    },

    async subagentEnded(event) {
      await endChild(event.targetSessionKey, event)
    },

    /**
     * `subagent_progress` with phase `ended`: the child's run is over. OpenClaw sends it
     * at once for every runtime and spawn mode, while `subagent_ended` waits for the
     * completion announcement (minutes, at worst) and skips `mode: "session"` children.
     */
    async subagentProgress(event) {
      if (event.phase === 'ended') await endChild(event.childSessionKey, event)
    },

    /**
     * `agent_end` of a turn in a child's session: its final text is the child's result.
     * OpenClaw's subagent events carry no text, so it is kept on the held run for the
     * release they trigger; a child that ended well is released with it here already.
     */
    async agentEnd(event, ctx) {
      const h = typeof ctx?.sessionKey === 'string' ? held.get(`child:${ctx.sessionKey}`) : undefined
      if (h === undefined || turnFailure(event) !== null) return
      const text = finalText(event.messages)
      h.result = text === null ? undefined : fitResult(text)
      await held.release(`child:${ctx.sessionKey}`, 'succeeded', undefined, h.result)
    },
  }

  async function endChild(childSessionKey, event) {
    const id = `child:${childSessionKey}`
    const h = held.get(id)
    if (h === undefined) return
    const status = endedStatus(event)
    await held.release(id, status, status === 'succeeded' ? undefined : (event.error ?? `child ${event.outcome ?? event.reason}`), h.result)
  }
}

module.exports = { SPAWN_TOOL, spawnKey, endedStatus, acceptedChild, createSpawnGuard }
