'use strict'

// The operator operations on guards, defined once: list, show, approve, force-release.
// Every surface (the Control UI page through OpenClaw's session actions, the agent
// tool, `/taskguard`, the gateway methods) maps its caller to a `Caller` and runs
// these; what a guard may do is the engine's answer (inspect, approveRetry,
// forceRelease), never decided here. What is decided here is who may see a key:
// a caller bound to a session sees and acts on that session's keys only.

const { codedError, codes } = require('../lib/errors')

/** A key outside the caller's session (the key is not named back: it is not theirs to learn). */
const NOT_PERMITTED = 'ERR_TASK_GUARD_NOT_PERMITTED'
const STATES = ['running', 'stale', 'failed', 'approved']
const LIST_MAX = 200
const TEXT_MAX = 1024
// `<sessionKey>::<task>`: the plugin's key convention (taskKey, spawnKey, toolKey).
const SEP = '::'

const bad = (message) => codedError(codes.INVALID_ARG, message)

/**
 * Who is asking. `session`: the one session whose guards it may see and act on, or
 * null for an operator (every key). `home`: the session a bare task name belongs to
 * (an owner's chat has one, though it may act on every key). `by`: recorded on writes.
 * @typedef {{ session: string | null, home?: string | null, by: string }} Caller
 */

function inSession(key, session) {
  return session === null || key.startsWith(`${session}${SEP}`)
}

function object(input, allowed) {
  if (input === undefined || input === null) return {}
  if (typeof input !== 'object' || Array.isArray(input)) throw bad('the input must be an object')
  for (const k of Object.keys(input)) if (!allowed.includes(k)) throw bad(`unknown field "${k}" (allowed: ${allowed.join(', ')})`)
  return input
}

function text(input, name, { required = false, max = TEXT_MAX } = {}) {
  const v = input[name]
  if (v === undefined || v === null) {
    if (required) throw bad(`"${name}" is required`)
    return undefined
  }
  if (typeof v !== 'string') throw bad(`"${name}" must be a string`)
  if (v.trim() === '') throw bad(`"${name}" must not be empty`)
  if (v.length > max) throw bad(`"${name}" is longer than ${max} characters`)
  return v
}

/**
 * The key an input names: `key` in full, or `task` within the caller's session (a
 * caller with no session must name the key). Refused outside the caller's session.
 */
function keyOf(input, caller) {
  const key = text(input, 'key')
  const task = text(input, 'task')
  if ((key === undefined) === (task === undefined)) throw bad('name the guard by "key" or by "task" (one of them)')
  const home = caller.session ?? caller.home ?? null
  if (task !== undefined && home === null) throw bad('"task" names a task of the caller\'s session; this caller has none: give "key"')
  const full = key ?? `${home}${SEP}${task}`
  if (!inSession(full, caller.session)) throw codedError(NOT_PERMITTED, 'that guard belongs to another session; only an operator or owner may see or act on it')
  return full
}

/** A guard as JSON (the wire of every surface carries no `undefined`), with its session and task. */
function guardJson(g) {
  const out = {}
  for (const [k, v] of Object.entries(g)) if (v !== undefined) out[k] = v
  const at = g.key.indexOf(SEP)
  out.session = at > 0 ? g.key.slice(0, at) : null
  out.task = at > 0 ? g.key.slice(at + SEP.length) : g.key
  return out
}

async function list(guard, input, caller) {
  const i = object(input, ['state', 'session', 'limit', 'after'])
  const state = text(i, 'state')
  if (state !== undefined && !STATES.includes(state)) throw bad(`"state" must be one of ${STATES.join(', ')}`)
  const session = text(i, 'session')
  if (session !== undefined && caller.session !== null && session !== caller.session) {
    throw codedError(NOT_PERMITTED, 'only an operator or owner may list another session\'s guards')
  }
  const limit = i.limit ?? 50
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX) throw bad(`"limit" must be an integer from 1 to ${LIST_MAX}`)
  const after = text(i, 'after', { max: 4096 })
  const within = session ?? caller.session
  // The engine checks the cursor (and that it belongs to this prefix and state).
  const page = await guard.inspect({
    limit,
    ...(within !== null && within !== undefined ? { prefix: `${within}${SEP}` } : {}),
    ...(state ? { state } : {}),
    ...(after ? { after } : {}),
  })
  return { now: page.now, guards: page.guards.map(guardJson), counts: page.counts, next: page.next ?? null }
}

async function show(guard, input, caller) {
  const key = keyOf(object(input, ['key', 'task']), caller)
  // Keys sharing the prefix (`deploy`, `deploy-eu`) come too: the exact one is wanted.
  for await (const g of guard.guards({ prefix: key })) {
    if (g.key === key) return { now: Date.now(), key, guard: guardJson(g) }
  }
  return { now: Date.now(), key, guard: null }
}

/** An operator write on one key: the guard's `method`, naming the caller as its option `who`. */
function operatorWrite(method, who) {
  return async (guard, input, caller) => {
    const i = object(input, ['key', 'task', 'reason'])
    const key = keyOf(i, caller)
    const reason = text(i, 'reason')
    const res = await guard[method](key, { [who]: caller.by, ...(reason ? { reason } : {}) })
    return { ...res, by: caller.by }
  }
}

const approve = operatorWrite('approveRetry', 'approvedBy')
const forceRelease = operatorWrite('forceRelease', 'by')

// JSON Schemas of the inputs and outputs: OpenClaw checks them at its surfaces (session
// actions, tool parameters); the functions above check the same again for every surface.
const str = { type: 'string', minLength: 1, maxLength: TEXT_MAX }
const keyOrTask = {
  key: { ...str, description: 'The full guard key, `<sessionKey>::<task>`.' },
  task: { ...str, description: "A task of the caller's own session (the key is `<sessionKey>::<task>`)." },
}
const guardSchema = { type: 'object', additionalProperties: true, properties: { key: { type: 'string' }, state: { enum: STATES } } }
const counts = { type: 'object', additionalProperties: { type: 'integer' } }
const writeResult = { type: 'object', additionalProperties: true, required: ['status', 'key'], properties: { status: { type: 'string' }, key: { type: 'string' }, by: { type: 'string' } } }

/**
 * The operations: `kind` (`query` needs operator.read, `action` operator.write on the
 * gateway), the schemas, the agent tool a query is also offered as, and `run`.
 */
const operations = {
  list: {
    kind: 'query',
    description:
      "List task guards: running, stale (its owner stopped heartbeating), failed (blocked until approved) and approved ones, with when each started, its owner, attempt and error. An agent sees its own session's guards only.",
    input: {
      type: 'object',
      additionalProperties: false,
      properties: {
        state: { enum: STATES, description: 'Only guards in this state.' },
        session: { ...str, description: 'Only this session key (operators; an agent or a chat sender is limited to its own).' },
        limit: { type: 'integer', minimum: 1, maximum: LIST_MAX, description: 'Page size, default 50.' },
        after: { type: 'string', minLength: 1, maxLength: 4096, description: 'The `next` cursor of the previous page.' },
      },
    },
    output: { type: 'object', required: ['now', 'guards', 'counts', 'next'], properties: { now: { type: 'number' }, guards: { type: 'array', items: guardSchema }, counts, next: { type: ['string', 'null'] } } },
    tool: { name: 'task_guards', label: 'Task guards' },
    run: list,
  },
  show: {
    kind: 'query',
    description:
      "Show one task guard: is the task running (since when, by whom, until when its lease runs), did its last run fail (when, with what error), was a retry approved (by whom), and its attempt. `guard` is null when nothing holds the task. An agent may name a task of its own session by `task`.",
    input: { type: 'object', additionalProperties: false, properties: keyOrTask },
    output: { type: 'object', required: ['now', 'key', 'guard'], properties: { now: { type: 'number' }, key: { type: 'string' }, guard: { anyOf: [guardSchema, { type: 'null' }] } } },
    tool: { name: 'task_guard', label: 'Task guard' },
    run: show,
  },
  approve: {
    kind: 'action',
    description: 'Approve a retry of a failed task: its next trigger runs it again as the next attempt. Recorded with who approved.',
    input: { type: 'object', additionalProperties: false, properties: { ...keyOrTask, reason: str } },
    output: writeResult,
    run: approve,
  },
  'force-release': {
    kind: 'action',
    description: 'End a running or stale run whose owner is gone (recorded as forced, with who did it); the task is free again.',
    input: { type: 'object', additionalProperties: false, properties: { ...keyOrTask, reason: str } },
    output: writeResult,
    run: forceRelease,
  },
}

/** Runs operation `name` for `caller` on the guard `getGuard()` resolves to. */
async function runOperation(getGuard, name, input, caller) {
  const op = Object.hasOwn(operations, name) ? operations[name] : undefined
  if (op === undefined) throw bad(`unknown operation "${name}"`)
  return op.run(await getGuard(), input, caller)
}

module.exports = { operations, runOperation, NOT_PERMITTED, GUARD_STATES: STATES, KEY_SEPARATOR: SEP }
