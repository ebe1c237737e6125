'use strict'

// The plugin's settings (`plugins.entries.task-guard.config`): the JSON Schema
// OpenClaw validates them with, and their resolution to what the handlers need.

const path = require('node:path')
const { codedError, codes } = require('../lib/errors')
const { heartbeatEvery } = require('../lib/contract')

const duration = { type: 'integer', minimum: 1, maximum: 2147483647 }

// A duplicate waits for the running run at most this long. A waiting `/deploy` holds
// its message's dispatch, and on channels with an ingress lane (Telegram) that chat's
// lane, which OpenClaw gives up on after 300 s and retries: stay well under it.
const DISPATCH_JOIN_MAX_MS = 280_000
// A waiting sessions_spawn holds its before_tool_call hook, whose timeout (registered
// at wait + JOIN_HOOK_MARGIN_MS) OpenClaw caps at 600 s.
const JOIN_HOOK_MARGIN_MS = 5_000
const SPAWN_JOIN_MAX_MS = 600_000 - JOIN_HOOK_MARGIN_MS
const JOIN_DEFAULT_MS = 120_000
// The engine's default retention (7 days): a success is replayed from its record.
const REPLAY_MAX_MS = 604_800_000

const onDuplicate = {
  enum: ['answer', 'join'],
  description: "A duplicate while the first run runs: 'answer' at once that it runs (default), or 'join': wait for it and answer with its result.",
}
const joinTimeout = (max) => ({
  type: 'integer',
  minimum: 1,
  maximum: max,
  description: `With onDuplicate 'join': the longest a duplicate waits, then it is answered that the run still runs. Default ${JOIN_DEFAULT_MS}, at most ${max}.`,
})

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
    replayMs: {
      type: 'integer',
      minimum: 0,
      maximum: REPLAY_MAX_MS,
      description:
        'For this long after a guarded run succeeded, the same task is not run again: a duplicate is answered with that run\'s result. Applies to every key the plugin guards (dispatch tasks, spawns, tools). Default 0 (off).',
    },
    spawn: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', description: 'Guard sessions_spawn calls that carry a taskName. Default true.' },
        acceptTimeoutMs: { ...duration, description: 'How long to wait for OpenClaw to report a spawn accepted. Default 120000.' },
        onDuplicate,
        joinTimeoutMs: joinTimeout(SPAWN_JOIN_MAX_MS),
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
              onDuplicate,
              joinTimeoutMs: joinTimeout(DISPATCH_JOIN_MAX_MS),
            },
          },
        },
        maxTurnMs: { ...duration, description: 'Longest a guarded turn is vouched for without its end being seen. Default 3600000.' },
      },
    },
  },
}

/** `onDuplicate` and `joinTimeoutMs` of `raw` (a task or the spawn settings), checked; `where` names it. */
function duplicatePolicy(raw, where, maxJoinMs) {
  const mode = raw?.onDuplicate ?? 'answer'
  if (mode !== 'answer' && mode !== 'join') throw bad(`${where}.onDuplicate must be "answer" or "join", not ${JSON.stringify(mode)}`)
  const joinTimeoutMs = raw?.joinTimeoutMs ?? Math.min(JOIN_DEFAULT_MS, maxJoinMs)
  if (!Number.isInteger(joinTimeoutMs) || joinTimeoutMs < 1 || joinTimeoutMs > maxJoinMs) {
    throw bad(`${where}.joinTimeoutMs must be an integer from 1 to ${maxJoinMs}, not ${JSON.stringify(joinTimeoutMs)}`)
  }
  return { onDuplicate: mode, joinTimeoutMs }
}

const bad = (message) => codedError(codes.INVALID_ARG, `task-guard plugin config (plugins.entries.task-guard.config): ${message}`)

/** Checks `raw` beyond the schema (regexes, names) and fills defaults; `stateDir` anchors the default store. */
function resolveConfig(raw = {}, { stateDir }) {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('must be an object')
  for (const k of Object.keys(raw)) if (!(k in configJsonSchema.properties)) throw bad(`unknown setting ${JSON.stringify(k)}`)
  if (raw.namespace === '') throw bad('namespace must not be empty (leave it out for the default, "openclaw")')
  const ttlMs = raw.ttlMs ?? 600_000
  const replayMs = raw.replayMs ?? 0
  if (!Number.isInteger(replayMs) || replayMs < 0 || replayMs > REPLAY_MAX_MS) {
    throw bad(`replayMs must be an integer from 0 to ${REPLAY_MAX_MS}, not ${JSON.stringify(replayMs)}`)
  }
  const tools = (raw.tools ?? []).map((t, i) => {
    if (typeof t?.tool !== 'string' || t.tool === '' || typeof t.keyParam !== 'string' || t.keyParam === '') {
      throw bad(`tools[${i}] needs "tool" and "keyParam" strings`)
    }
    if (t.onError !== undefined && t.onError !== 'allow' && t.onError !== 'block') throw bad(`tools[${i}].onError must be "allow" or "block"`)
    return { tool: t.tool, keyParam: t.keyParam, ttlMs: t.ttlMs, onError: t.onError ?? 'allow' }
  })
  const tasks = (raw.dispatch?.tasks ?? []).map((t, i) => {
    if (typeof t?.task !== 'string' || t.task === '' || t.task.includes('::')) throw bad(`dispatch.tasks[${i}].task must be a name without '::'`)
    let match
    try {
      match = new RegExp(t.match, t.flags ?? '')
    } catch (err) {
      throw bad(`dispatch.tasks[${i}].match is not a regular expression: ${err.message}`)
    }
    return { match, task: t.task, ...duplicatePolicy(t, `dispatch.tasks[${i}]`, DISPATCH_JOIN_MAX_MS) }
  })
  return {
    store: raw.store ?? `sqlite:${path.join(stateDir, 'task-guard', 'guards.db')}`,
    namespace: raw.namespace ?? 'openclaw',
    ttlMs,
    heartbeatMs: raw.heartbeatMs ?? heartbeatEvery(ttlMs),
    onStale: raw.onStale ?? 'heal',
    replayMs,
    spawn: {
      enabled: raw.spawn?.enabled ?? true,
      acceptTimeoutMs: raw.spawn?.acceptTimeoutMs ?? 120_000,
      ...duplicatePolicy(raw.spawn, 'spawn', SPAWN_JOIN_MAX_MS),
    },
    tools,
    dispatch: { tasks, maxTurnMs: raw.dispatch?.maxTurnMs ?? 3_600_000 },
  }
}

module.exports = { configJsonSchema, resolveConfig, JOIN_HOOK_MARGIN_MS }
