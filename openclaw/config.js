'use strict'

// The plugin's settings (`plugins.entries.task-guard.config`): the JSON Schema
// OpenClaw validates them with, and their resolution to what the handlers need.

const path = require('node:path')
const { codedError, codes } = require('../lib/errors')
const { heartbeatEvery } = require('../lib/contract')

const duration = { type: 'integer', minimum: 1, maximum: 2147483647 }

const configJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    store: {
      type: 'string',
      description: "Where guards live: 'sqlite:<path>' (default: task-guard/guards.db in the OpenClaw state directory), 'redis://…' for gateways on several hosts, or 'memory:'.",
    },
    namespace: { type: 'string', minLength: 1, description: "Separates tenants sharing a store. Default 'openclaw'." },
    ttlMs: { ...duration, description: 'How long a run may go without a heartbeat before it is stale. Default 600000.' },
    heartbeatMs: { ...duration, description: 'How often held runs are heartbeated. Default a third of ttlMs.' },
    onStale: { enum: ['heal', 'fail'], description: "A run whose gateway stopped heartbeating: 'heal' lets the next trigger take over (default), 'fail' blocks the task until approved." },
    spawn: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', description: 'Guard sessions_spawn calls that carry a taskName. Default true.' },
        acceptTimeoutMs: { ...duration, description: 'How long to wait for OpenClaw to report a spawn accepted. Default 120000.' },
      },
    },
    tools: {
      type: 'array',
      description: 'Long-running tools to guard, one call per session + tool + argument at a time.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['tool', 'keyParam'],
        properties: {
          tool: { type: 'string', minLength: 1 },
          keyParam: { type: 'string', minLength: 1, description: 'The tool argument that names the work, e.g. "command" for exec.' },
          ttlMs: duration,
          onError: { enum: ['allow', 'block'], description: "A call that errors: 'allow' the next one (default) or 'block' until approved." },
        },
      },
    },
    dispatch: {
      type: 'object',
      additionalProperties: false,
      properties: {
        tasks: {
          type: 'array',
          description: 'Messages that start a task: a duplicate trigger is answered instead of queued. Needs hooks.allowConversationAccess.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['match', 'task'],
            properties: {
              match: {
                type: 'string',
                minLength: 1,
                // OpenClaw 2026.9 treats `format` as an annotation, so a bad pattern is refused when the plugin registers.
                format: 'regex',
                description: 'A regular expression (JavaScript syntax) tested against the message text.',
              },
              flags: { type: 'string', pattern: '^[imsu]*$' },
              task: { type: 'string', minLength: 1 },
            },
          },
        },
        maxTurnMs: { ...duration, description: 'Longest a guarded turn is vouched for without its end being seen. Default 3600000.' },
      },
    },
  },
}

const bad = (message) => codedError(codes.INVALID_ARG, `task-guard plugin config (plugins.entries.task-guard.config): ${message}`)

/** Checks `raw` beyond the schema (regexes, names) and fills defaults; `stateDir` anchors the default store. */
function resolveConfig(raw = {}, { stateDir }) {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('must be an object')
  for (const k of Object.keys(raw)) if (!(k in configJsonSchema.properties)) throw bad(`unknown setting ${JSON.stringify(k)}`)
  if (raw.namespace === '') throw bad('namespace must not be empty (leave it out for the default, "openclaw")')
  const ttlMs = raw.ttlMs ?? 600_000
  const tools = (raw.tools ?? []).map((t, i) => {
    if (typeof t?.tool !== 'string' || t.tool === '' || typeof t.keyParam !== 'string' || t.keyParam === '') {
      throw bad(`tools[${i}] needs "tool" and "keyParam" strings`)
    }
    if (t.onError !== undefined && t.onError !== 'allow' && t.onError !== 'block') throw bad(`tools[${i}].onError must be "allow" or "block"`)
    return { tool: t.tool, keyParam: t.keyParam, ttlMs: t.ttlMs, onError: t.onError ?? 'allow' }
  })
  const tasks = (raw.dispatch?.tasks ?? []).map((t, i) => {
    if (typeof t?.task !== 'string' || t.task === '' || t.task.includes('::')) throw bad(`dispatch.tasks[${i}].task must be a name without '::'`)
    try {
      return { match: new RegExp(t.match, t.flags ?? ''), task: t.task }
    } catch (err) {
      throw bad(`dispatch.tasks[${i}].match is not a regular expression: ${err.message}`)
    }
  })
  return {
    store: raw.store ?? `sqlite:${path.join(stateDir, 'task-guard', 'guards.db')}`,
    namespace: raw.namespace ?? 'openclaw',
    ttlMs,
    heartbeatMs: raw.heartbeatMs ?? heartbeatEvery(ttlMs),
    onStale: raw.onStale ?? 'heal',
    spawn: { enabled: raw.spawn?.enabled ?? true, acceptTimeoutMs: raw.spawn?.acceptTimeoutMs ?? 120_000 },
    tools,
    dispatch: { tasks, maxTurnMs: raw.dispatch?.maxTurnMs ?? 3_600_000 },
  }
}

module.exports = { configJsonSchema, resolveConfig }
