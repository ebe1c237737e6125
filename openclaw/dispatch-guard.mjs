// The auto-reply side. A session lane runs one turn at a time and queues the rest,
// so a guard taken inside a queued turn blocks nothing (the first run has ended by
// the time the duplicate runs). These take the guard when the trigger arrives.

import { taskKey } from '../index.mjs'
import { acquireOrRefuse, describeConflict } from './messages.mjs'

/**
 * Takes `sessionKey::task` now and, if free, calls `start(lease)`: it enqueues the
 * work (on OpenClaw's session lane, say) and returns a promise of its end. The run
 * is heartbeated until then and released by outcome (a rejection fails it).
 *
 * Resolves at once with `{ handled: true, text, conflict }` for a duplicate (the
 * short answer to send), or `{ handled: false, key, lease, outcome }` where `outcome`
 * resolves to `{ status: 'succeeded', value }` or `{ status: 'failed', error }`.
 */
export function guardTrigger(guard, { sessionKey, task, label, ...runOptions }, start) {
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

/** The task a message starts, from rules `{ match: RegExp, task }`, or null. */
export function taskOfMessage(rules, text) {
  if (typeof text !== 'string') return null
  for (const rule of rules) if (rule.match.test(text)) return rule.task
  return null
}

function lastUserText(messages) {
  if (!Array.isArray(messages)) return ''
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]
    if (m?.role === 'user') return typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '')
  }
  return ''
}

/**
 * Plugin handlers: `before_dispatch` takes the guard for a taskful message (a
 * duplicate is answered and never reaches the session lane), `agent_end` releases it
 * when the turn that carried the message ends.
 */
export function createDispatchGuard({ getGuard, held, rules, ttlMs, maxTurnMs = 3600_000 }) {
  return {
    async beforeDispatch(event, ctx) {
      const sessionKey = ctx.sessionKey ?? event.sessionKey
      const content = event.content ?? event.body
      const task = taskOfMessage(rules, content)
      if (task === null || !sessionKey) return undefined
      const key = taskKey(sessionKey, task)
      const { run, refusal } = await acquireOrRefuse(getGuard, key, `Task "${task}"`, {
        owner: `openclaw:${sessionKey}`,
        ttlMs,
        meta: { trigger: 'message', messageId: event.messageId ?? ctx.messageId ?? null },
      })
      if (refusal !== undefined) return { handled: true, text: refusal }
      held.hold(`turn:${key}`, run, { sessionKey, content, holdUntil: Date.now() + maxTurnMs })
      return undefined
    },

    async agentEnd(event, ctx) {
      if (!ctx.sessionKey) return
      // The turn is the one whose prompt carries the triggering message.
      const prompt = lastUserText(event.messages)
      for (const [id, run] of held.entries()) {
        if (!id.startsWith('turn:') || run.sessionKey !== ctx.sessionKey) continue
        if (!prompt.includes(run.content)) continue
        await held.release(id, event.success ? 'succeeded' : 'failed', event.success ? undefined : (event.error ?? 'turn failed'))
        return
      }
    },
  }
}
