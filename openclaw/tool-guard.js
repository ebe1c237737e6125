'use strict'

// Guards long-running tools (exec, poll loops) the operator names: one call per
// session + tool + configured argument at a time. The key is taken before the call
// runs and released when OpenClaw reports the call finished.

const { createHash } = require('node:crypto')
const { taskKey } = require('../lib/task-key')
const { acquireOrRefuse } = require('./messages')

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

/** Handlers for `before_tool_call` / `after_tool_call` over `rules` ({ tool, keyParam, ttlMs?, onError? }). */
function createToolGuard({ getGuard, held, rules, ttlMs, resultTimeoutMs = 24 * 3600_000, origin = {} }) {
  const byTool = new Map(rules.map((r) => [r.tool, r]))
  return {
    tools: [...byTool.keys()],

    async beforeToolCall(event, ctx) {
      const rule = byTool.get(event.toolName)
      if (rule === undefined) return undefined
      const key = toolKey(rule, event.params, ctx.sessionKey)
      if (key === null) return undefined
      const what = `${rule.tool} for ${JSON.stringify(rule.keyParam)} = ${JSON.stringify(event.params[rule.keyParam])}`.slice(0, 300)
      const { run, refusal } = await acquireOrRefuse(getGuard, key, what, {
        owner: `openclaw:${ctx.sessionKey}`,
        ttlMs: rule.ttlMs ?? ttlMs,
        meta: { ...origin, kind: 'tool', sessionKey: ctx.sessionKey, tool: rule.tool, toolCallId: event.toolCallId ?? ctx.toolCallId ?? null },
      })
      if (refusal !== undefined) return { block: true, blockReason: refusal }
      held.hold(`tool:${key}`, run, { holdUntil: Date.now() + resultTimeoutMs, onExpire: 'cancelled' })
      return undefined
    },

    async afterToolCall(event, ctx) {
      const rule = byTool.get(event.toolName)
      if (rule === undefined) return
      const key = toolKey(rule, event.params, ctx.sessionKey)
      if (key === null || held.get(`tool:${key}`) === undefined) return
      if (!event.error) await held.release(`tool:${key}`, 'succeeded')
      else await held.release(`tool:${key}`, rule.onError === 'block' ? 'failed' : 'cancelled', event.error)
    },
  }
}

module.exports = { toolKey, createToolGuard }
