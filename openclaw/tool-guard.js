'use strict'

// Guards long-running tools (exec, poll loops) the operator names: one call per
// session + tool + configured argument at a time. The key is taken before the call
// runs and released when OpenClaw reports the call finished, or, for an exec that
// went to the background, when its command ends (background-exec.js).

const { createHash } = require('node:crypto')
const { taskKey } = require('../lib/task-key')
const { acquireOrRefuse, callId } = require('./messages')
const { backgroundHint, backgroundProbe, backgroundedSession, toolCallEnd } = require('./background-exec')

// The tool OpenClaw's agents check and stop background commands with.
const PROCESS_TOOL = 'process'

// Longer or `::`-holding argument values are hashed so the key stays valid and bounded.
const MAX_RAW_ARG = 200

/** The guard key of a tool call under `rule`, or null when the call has no such argument. */
function toolKey(rule, params, sessionKey) {
  if (typeof sessionKey !== 'string' || sessionKey === '') return null
  const value = params?.[rule.keyParam]
  if (value === undefined || value === null || value === '') return null
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  const part =
    text.length <= MAX_RAW_ARG && !text.includes('::')
      ? text
      : `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 32)}`
  return taskKey(sessionKey, `tool:${rule.tool}:${part}`)
}

/**
 * Handlers for `before_tool_call` / `after_tool_call` over `rules` ({ tool, keyParam,
 * ttlMs?, onError? }). `getTasks()` returns OpenClaw's `api.runtime.tasks` (where a
 * background command's end is recorded); `interrupted` ends a run whose end was lost.
 */
function createToolGuard({ getGuard, held, rules, ttlMs, resultTimeoutMs = 24 * 3600_000, origin = {}, getTasks = () => undefined, interrupted = 'cancelled' }) {
  const byTool = new Map(rules.map((r) => [r.tool, r]))
  const hintFor = (conflict) => {
    const bg = conflict.status === 'already_running' ? held.entries().find(([, h]) => h.runId === conflict.runId && h.execSessionId) : undefined
    return bg ? backgroundHint(bg[1].execSessionId) : ''
  }
  return {
    tools: [...byTool.keys(), ...(byTool.has('exec') && !byTool.has(PROCESS_TOOL) ? [PROCESS_TOOL] : [])],

    async beforeToolCall(event, ctx) {
      const rule = byTool.get(event.toolName)
      if (rule === undefined) return undefined
      const key = toolKey(rule, event.params, ctx.sessionKey)
      if (key === null) return undefined
      const what = `${rule.tool} for ${JSON.stringify(rule.keyParam)} = ${JSON.stringify(event.params[rule.keyParam])}`.slice(0, 300)
      const { run, refusal } = await acquireOrRefuse(
        getGuard,
        key,
        what,
        {
          owner: `openclaw:${ctx.sessionKey}`,
          ttlMs: rule.ttlMs ?? ttlMs,
          meta: { ...origin, kind: 'tool', sessionKey: ctx.sessionKey, tool: rule.tool, toolCallId: callId(event, ctx) },
        },
        hintFor,
      )
      if (refusal !== undefined) return { block: true, blockReason: refusal }
      held.hold(`tool:${key}`, run, { toolCallId: callId(event, ctx), holdForMs: resultTimeoutMs, onExpire: 'cancelled' })
      return undefined
    },

    async afterToolCall(event, ctx) {
      if (event.toolName === PROCESS_TOOL && !byTool.has(PROCESS_TOOL)) {
        // The agent polled or stopped a background command: see now whether it ended.
        const sessionId = event.params?.sessionId
        if (typeof sessionId === 'string') await held.probe((h) => h.execSessionId === sessionId)
        return
      }
      const rule = byTool.get(event.toolName)
      if (rule === undefined) return
      const key = toolKey(rule, event.params, ctx.sessionKey)
      const id = `tool:${key}`
      if (key === null || held.forCall(id, callId(event, ctx)) === undefined) return
      const session = backgroundedSession(event.result)
      if (session !== null) {
        // The command runs on: hold the key until it ends, as OpenClaw records that end.
        held.rename(id, `exec:${session.sessionId}`, {
          execSessionId: session.sessionId,
          sessionKey: ctx.sessionKey,
          holdUntil: undefined,
          onExpire: undefined,
          probe: backgroundProbe({ getTasks, sessionKey: ctx.sessionKey, session, rule, interrupted }),
        })
        return
      }
      const end = toolCallEnd(event, rule)
      await held.release(id, end.status, end.error)
    },

    /** OpenClaw hints that a command of `sessionKey` ended (its `exec.process.completed` diagnostic). */
    async commandEnded(sessionKey) {
      await held.probe((h) => h.execSessionId !== undefined && h.sessionKey === sessionKey)
    },
  }
}

module.exports = { PROCESS_TOOL, toolKey, createToolGuard }
