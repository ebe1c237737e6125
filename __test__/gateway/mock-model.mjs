// A scriptable OpenAI-compatible model for the gateway suite (POST /v1/chat/completions,
// streamed). The test's handler sees each request — the real last user text, the user
// input since the model last answered, whether it comes from a sub-agent child, the tool
// results so far — and answers with a step:
//
//   { text }                               a streamed text reply
//   { toolCalls: [{ name, arguments }] }   tool calls, all in one response
//   { status: 500, message? }              an HTTP error
//   { broken: true }                       a stream cut off mid-reply
//   a promise of one of these              held open until the test resolves it
//   undefined                              the default text reply, `MOCK: <user text>`
//
// Every call is recorded and announced ('call' event; `waitFor(predicate)`), so a
// test synchronises on what the gateway asked, never on time.

import { EventEmitter } from 'node:events'
import http from 'node:http'

const INTERNAL = '<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>'
const MODEL = 'mock-model'

export function textOf(content) {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map((p) => (typeof p === 'string' ? p : (p?.text ?? ''))).join('')
  return ''
}

/** A user message as typed: without OpenClaw's "[<timestamp>] " prefix and Runtime trailer. */
export function userText(message) {
  return textOf(message.content)
    .replace(/^\[[^\]\n]*\d{2}:\d{2}[^\]\n]*\]\s*/, '')
    .split('\n\nRuntime:')[0]
    .trim()
}

/** What a handler sees of one chat-completions request. */
export function describeRequest(body, index) {
  const messages = Array.isArray(body?.messages) ? body.messages : []
  const real = messages.filter((m) => !(m.role === 'user' && textOf(m.content).includes(INTERNAL)))
  const users = real.filter((m) => m.role === 'user')
  const all = messages.map((m) => textOf(m.content)).join('\n')
  const toolNames = new Map()
  for (const m of real) for (const c of m.tool_calls ?? []) toolNames.set(c.id, c.function?.name)
  const toolResults = real
    .filter((m) => m.role === 'tool')
    .map((m) => ({ id: m.tool_call_id, name: toolNames.get(m.tool_call_id) ?? null, text: textOf(m.content) }))
  // Tool results this call continues from: those after the last assistant message.
  let lastAssistant = -1
  real.forEach((m, i) => {
    if (m.role === 'assistant') lastAssistant = i
  })
  const pending = real.slice(lastAssistant + 1).filter((m) => m.role === 'tool')
  const newUsers = real.slice(lastAssistant + 1).filter((m) => m.role === 'user')
  const sessionKey = /\bsession=([^\s|]+)/.exec(all)?.[1] ?? null
  return {
    index,
    at: Date.now(),
    body,
    messages,
    lastUserText: users.length ? userText(users.at(-1)) : '',
    userTexts: users.map(userText),
    /** Every message's text, joined (a child's task text is in here). */
    allText: all,
    sessionKey,
    // A sub-agent child: its session key, or OpenClaw's "[Subagent Task]" in its first prompt.
    isSubagent: /:subagent:/.test(sessionKey ?? '') || (users.length > 0 && textOf(users[0].content).includes('[Subagent Task]')),
    toolResults,
    newToolResults: pending.map((m) => toolResults.find((r) => r.id === m.tool_call_id)),
    /** The user input this call answers: the user messages after the last assistant message. */
    newUserTexts: newUsers.map(userText),
    tools: (body?.tools ?? []).map((t) => t.function?.name ?? t.name),
  }
}

/**
 * The last line, among the user input `call` answers, that `pattern` matches (its match), or null.
 * `lastUserText` holds a user's message only while OpenClaw sends it as the prompt alone. When a
 * turn of OpenClaw's own in that session (a sub-agent's completion announcement) meets the
 * message, OpenClaw may fold the message into a prompt of its own ("Current parent turn:" after
 * the runtime event; "[Queued user message from a previous active turn ...]" above the
 * announcement), follow it with a notice ("This turn ended before a reply: ..."), or leave it
 * unanswered before the announcement's prompt; this finds the message in each of these.
 */
export function requested(call, pattern) {
  let found = null
  for (const text of call.newUserTexts) {
    for (const line of text.split('\n')) found = pattern.exec(line.trim()) ?? found
  }
  return found
}

let idSeq = 0
// OpenClaw drops underscores from tool-call ids; these have none.
const callId = () => `call${Date.now().toString(36)}x${(++idSeq).toString(36)}`

function writeStream(res, step) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
  const id = `chatcmpl${Date.now()}`
  const created = Math.floor(Date.now() / 1000)
  const chunk = (delta, finish = null) =>
    res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`)
  if (step.broken) {
    chunk({ role: 'assistant', content: 'partial repl' })
    res.socket?.destroy()
    return
  }
  if (step.toolCalls) {
    step.toolCalls.forEach((c, index) =>
      chunk({
        ...(index === 0 ? { role: 'assistant', content: null } : {}),
        tool_calls: [{ index, id: c.id ?? callId(), type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments ?? {}) } }],
      }),
    )
    chunk({}, 'tool_calls')
  } else {
    chunk({ role: 'assistant', content: String(step.text) })
    chunk({}, 'stop')
  }
  res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: MODEL, choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } })}\n\n`)
  res.write('data: [DONE]\n\n')
  res.end()
}

/** Starts the model on 127.0.0.1. `handler(request)` returns a step (see above). */
export async function startMockModel(handler = () => undefined) {
  const events = new EventEmitter()
  const calls = []
  let current = handler

  const server = http.createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (c) => (raw += c))
    req.on('end', async () => {
      if (req.method === 'GET' && req.url.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model', owned_by: 'mock' }] }))
      }
      if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ error: { message: `not found: ${req.url}` } }))
      }
      let body = null
      try {
        body = JSON.parse(raw)
      } catch {}
      const call = describeRequest(body, calls.length)
      call.aborted = false
      call.endedAt = null
      res.on('close', () => {
        call.endedAt = Date.now()
        if (!res.writableFinished) call.aborted = true
        events.emit('ended', call)
      })
      calls.push(call)
      events.emit('call', call)
      let step
      try {
        step = (await current(call)) ?? { text: `MOCK: ${call.lastUserText}` }
      } catch (err) {
        step = { status: 500, message: `mock handler threw: ${err.message}` }
      }
      call.step = step
      call.answeredAt = Date.now()
      events.emit('answered', call)
      if (res.destroyed || call.aborted) return
      if (step.status) {
        res.writeHead(step.status, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ error: { message: step.message ?? `mock error ${step.status}`, type: 'server_error', code: null } }))
      }
      writeStream(res, step)
    })
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })

  return {
    baseUrl: `http://127.0.0.1:${server.address().port}/v1`,
    calls,
    events,
    /** Replaces the handler (one per scenario). */
    use(h) {
      current = h ?? (() => undefined)
    },
    /** The first call, recorded or still to come, matching `predicate`. */
    waitFor(predicate, { timeoutMs = 30_000, what = 'a model call' } = {}) {
      const seen = calls.find(predicate)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const onCall = (c) => {
          if (!predicate(c)) return
          cleanup()
          resolve(c)
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
        }, timeoutMs)
        timer.unref()
        const cleanup = () => {
          clearTimeout(timer)
          events.off('call', onCall)
        }
        events.on('call', onCall)
      })
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
}

/** A promise the test resolves: `gate.open(step)` answers a held model call. */
export function gate() {
  let open
  const promise = new Promise((resolve) => {
    open = resolve
  })
  return { promise, open }
}
