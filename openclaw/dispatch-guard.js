'use strict'

// The auto-reply side. A session lane runs one turn at a time and queues the rest,
// so a guard taken inside a queued turn blocks nothing (the first run has ended by
// the time the duplicate runs). These take the guard when the trigger arrives.

const { taskKey } = require('../lib/task-key')
const { acquireOrRefuse, describeConflict, describeJoined } = require('./messages')
const { finalText, fitResult, joinRun, turnFailure } = require('./results')

/**
 * Takes `sessionKey::task` now and, if free, calls `start(lease)`: it enqueues the
 * work (on OpenClaw's session lane, say) and returns a promise of its end. The run
 * is heartbeated until then and released by outcome (a rejection fails it).
 *
 * Resolves at once with `{ handled: true, text, conflict }` for a duplicate (the
 * short answer to send), or `{ handled: false, key, lease, outcome }` where `outcome`
 * resolves to `{ status: 'succeeded', value }` or `{ status: 'failed', error }`.
 */
function guardTrigger(guard, { sessionKey, task, label, ...runOptions }, start) {
  const key = taskKey(sessionKey, task)
  const what = label ?? `Task "${task}"`
  return new Promise((resolve, reject) => {
    let started = false
    const done = guard.run(
      key,
      (lease) => {
        started = true
        const work = Promise.resolve().then(() => start(lease))
        resolve({
          handled: false,
          key,
          lease,
          outcome: done.then(
            (r) => ({ status: 'succeeded', value: r.value }),
            (error) => ({ status: 'failed', error }),
          ),
        })
        return work
      },
      runOptions,
    )
    done.then(
      (res) => {
        if (!started) resolve({ handled: true, key, conflict: res, text: describeConflict(res, what) })
      },
      (err) => {
        if (!started) reject(err)
      },
    )
  })
}

/** The rule `{ match: RegExp, task, … }` whose pattern `text` matches, or null. */
function ruleOfMessage(rules, text) {
  if (typeof text !== 'string') return null
  for (const rule of rules) if (rule.match.test(text)) return rule
  return null
}

/** The task a message starts, from rules `{ match: RegExp, task }`, or null. */
function taskOfMessage(rules, text) {
  return ruleOfMessage(rules, text)?.task ?? null
}

// OpenClaw appends its own context to a turn as a user message; it is not the prompt.
const INTERNAL_CONTEXT = '<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>'

function textOf(content) {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('\n')
  return ''
}

/** The text of the turn's prompt: its last user message. */
function lastUserText(messages) {
  if (!Array.isArray(messages)) return ''
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]
    if (m?.role !== 'user') continue
    const text = textOf(m.content)
    if (!text.includes(INTERNAL_CONTEXT)) return text
  }
  return ''
}

// A turn's prompt carries the triggering message; this much of it is kept to find the turn.
const PROMPT_CHARS = 500

/**
 * The turn runs of `sessionKey` that the turn ending now carried, found in the store
 * (any registration of the plugin, in this process or the next, finds them there):
 * its run id is the triggering message's id (chat.send), or its prompt holds the message.
 */
async function turnRunsOf(guard, sessionKey, { runId, prompt }) {
  const found = []
  // Every page: a session may hold more guards than one page.
  for await (const g of guard.guards({ prefix: `${sessionKey}::` })) {
    const m = g.meta
    if ((g.state !== 'running' && g.state !== 'stale') || m?.kind !== 'turn' || m.sessionKey !== sessionKey) continue
    if ((runId !== undefined && m.messageId === runId) || (typeof m.prompt === 'string' && m.prompt !== '' && prompt.includes(m.prompt))) found.push(g)
  }
  return found
}

/**
 * Plugin handlers: `before_dispatch` takes the guard for a taskful message (a
 * duplicate is answered and never reaches the session lane), `agent_end` releases it
 * when the turn that carried the message ends, and `reply_payload_sending` sends a
 * duplicate's answer on the webchat as a side answer. `before_agent_run` adopts a
 * turn a restart interrupted when OpenClaw resumes it. `answered` is shared by every
 * registration of the plugin in the process; `origin` is stamped on each run.
 */
function createDispatchGuard({ getGuard, held, rules, ttlMs, maxTurnMs = 3600_000, answered = new Map(), started = new Set(), ended = new Map(), origin = {} }) {
  const answer = (event, ctx, messageId, content, text) => {
    if (messageId !== null && (event.channel ?? ctx.channelId) === WEBCHAT) {
      answered.set(messageId, content)
      // An answer OpenClaw never sends (delivery suppressed) must not be kept forever.
      if (answered.size > MAX_PENDING_ANSWERS) answered.delete(answered.keys().next().value)
    }
    return { handled: true, text }
  }
  return {
    async beforeDispatch(event, ctx) {
      const sessionKey = ctx.sessionKey ?? event.sessionKey
      const content = event.content ?? event.body
      const rule = ruleOfMessage(rules, content)
      if (rule === null || !sessionKey) return undefined
      const key = taskKey(sessionKey, rule.task)
      const what = `Task "${rule.task}"`
      const messageId = event.messageId ?? ctx.messageId ?? null
      if (rule.onDuplicate === 'join') {
        const late = await arrivedDuring(getGuard, ended.get(key), key, event.timestamp)
        if (late !== null) return answer(event, ctx, messageId, content, describeJoined(late, what, { key, waitedMs: 0 }))
      }
      const { run, refusal, conflict } = await acquireOrRefuse(getGuard, key, what, {
        owner: `openclaw:${sessionKey}`,
        ttlMs,
        meta: { ...origin, kind: 'turn', trigger: 'message', sessionKey, messageId, prompt: content.trim().slice(0, PROMPT_CHARS) },
      })
      if (refusal === undefined) {
        held.hold(`turn:${key}:${run.runId}`, run, { sessionKey, holdForMs: maxTurnMs })
        return undefined
      }
      // Join only a run whose turn has started (before_agent_run saw it). A turn not yet
      // started may be queued behind this very message's dispatch (OpenClaw admits a
      // later message to the session first, then runs it after the earlier one): waiting
      // for it here would wait for ourselves until the deadline.
      if (rule.onDuplicate === 'join' && conflict?.status === 'already_running' && started.has(conflict.runId)) {
        const text = await joinRun(getGuard, conflict, what, { waitMs: rule.joinTimeoutMs })
        // The messages OpenClaw held back behind this one come next (see arrivedDuring).
        const last = ended.get(key)
        if (last?.runId === conflict.runId) last.joinedAt = Date.now()
        return answer(event, ctx, messageId, content, text)
      }
      return answer(event, ctx, messageId, content, refusal)
    },

    /**
     * A duplicate's answer on the webchat goes out as a side answer (OpenClaw's `btw`
     * result): the sender gets it at once, and it is not written to the session's
     * transcript. Written there, it would land inside the running turn, which then fails
     * ("Session transcript keyed user is outside the current turn").
     */
    replyPayloadSending(event) {
      const question = event.runId === undefined ? undefined : answered.get(event.runId)
      if (question === undefined) return undefined
      answered.delete(event.runId)
      return { payload: { ...event.payload, btw: { question } } }
    },

    /**
     * OpenClaw resumes a turn that a stop or crash interrupted, with a prompt of its own
     * and a run id of its own. The interrupted turn's run (left held by the earlier
     * process) is adopted by that turn: heartbeated from now on and ended with it, so
     * the task is not started again while OpenClaw finishes it.
     */
    async beforeAgentRun(event, ctx) {
      const sessionKey = ctx.sessionKey
      if (!sessionKey || ctx.runId === undefined) return undefined
      if (!isRestartResume(event.prompt)) {
        // The turn that carries a guarded message starts: duplicates may join its run now.
        if (rules.some((r) => r.onDuplicate === 'join')) await markStarted(await getGuard(), sessionKey, ctx.runId, event.prompt)
        return undefined
      }
      const guard = await getGuard()
      const guards = []
      for await (const g of guard.guards({ prefix: `${sessionKey}::` })) guards.push(g)
      for (const g of guards) {
        const m = g.meta
        if ((g.state !== 'running' && g.state !== 'stale') || m?.kind !== 'turn' || m.sessionKey !== sessionKey) continue
        if (m.gateway !== origin.gateway || m.process === origin.process) continue
        const beat = await guard.heartbeat(g.key, g.runId)
        if (beat.status === 'extended') held.hold(`turn:${g.key}:${g.runId}`, g, { sessionKey, resumedBy: ctx.runId, holdForMs: maxTurnMs })
      }
      return undefined
    },

    async agentEnd(event, ctx) {
      const sessionKey = ctx.sessionKey
      if (!sessionKey) return
      const runId = event.runId ?? ctx.runId
      const error = turnFailure(event)
      const status = error === null ? 'succeeded' : 'failed'
      // What the turn answered: kept with its success for joiners and replays.
      const text = error === null ? finalText(event.messages) : null
      const result = text === null ? undefined : fitResult(text)
      const options = error === null ? (result === undefined ? undefined : { result }) : { error }
      // A resumed turn ends the interrupted turn's run it adopted.
      for (const [id, h] of held.entries()) if (runId !== undefined && h.resumedBy === runId) await held.release(id, status, error ?? undefined, result)
      const guard = await getGuard()
      for (const g of await turnRunsOf(guard, sessionKey, { runId, prompt: lastUserText(event.messages) })) {
        held.forget(g.key, g.runId)
        if (started.delete(g.runId)) remember(ended, g.key, { runId: g.runId, startedAt: g.startedAt, endedAt: Date.now() })
        await guard.release(g.key, g.runId, status, options)
      }
    },
  }

  /** Marks the held turn runs of the turn starting now (its run id, or its prompt) as joinable. */
  async function markStarted(guard, sessionKey, runId, prompt) {
    for (const g of await turnRunsOf(guard, sessionKey, { runId, prompt: typeof prompt === 'string' ? prompt : '' })) {
      started.add(g.runId)
      // Runs whose end was never seen (a crash) must not be kept forever.
      if (started.size > MAX_PENDING_ANSWERS) started.delete(started.values().next().value)
    }
  }
}

// How soon after a waiting duplicate was answered a message it held back reaches
// before_dispatch (OpenClaw admits them one by one; ~0.1 s on an idle gateway).
const HELD_BACK_MS = 5000

/**
 * The outcome of the key's last joinable run if the message arrived while it ran, else
 * null. OpenClaw admits a session's messages in order, so while a joining duplicate
 * waits in before_dispatch the later ones wait before it; they get there once the run
 * has ended, and are its duplicates all the same. When it arrived: the message's
 * `timestamp` if its channel stamps one; else (the webchat) a message that comes right
 * after a waiting duplicate was answered is taken to have been held back by it.
 */
async function arrivedDuring(getGuard, last, key, timestamp) {
  if (last === undefined) return null
  if (typeof timestamp === 'number' && Number.isFinite(timestamp)) {
    // Some channels stamp messages in seconds.
    const at = timestamp < 1e12 ? timestamp * 1000 : timestamp
    if (at < last.startedAt || at > last.endedAt) return null
  } else if (last.joinedAt === undefined || Date.now() - last.joinedAt > HELD_BACK_MS) {
    return null
  }
  try {
    const outcome = await (await getGuard()).outcome(key, last.runId)
    return outcome.status === 'unknown' || outcome.status === 'running' ? null : outcome
  } catch {
    return null
  }
}

function remember(ended, key, run) {
  ended.delete(key)
  ended.set(key, run)
  if (ended.size > MAX_PENDING_ANSWERS) ended.delete(ended.keys().next().value)
}

const WEBCHAT = 'webchat'
const MAX_PENDING_ANSWERS = 1000

// The prompt OpenClaw (2026.9) resumes an interrupted turn with.
const RESTART_RESUME = 'Your previous turn was interrupted by a gateway restart'

function isRestartResume(prompt) {
  return typeof prompt === 'string' && prompt.includes(RESTART_RESUME)
}

module.exports = { guardTrigger, taskOfMessage, ruleOfMessage, createDispatchGuard, turnFailure }
