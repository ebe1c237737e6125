#!/usr/bin/env node
'use strict'
// Operator command line over any store: inspect guards, approve a retry,
// release or force-release a run, count guards by state.
// Exit codes: 0 done, 1 refused by the guard, 2 usage or store error.
// --json prints the API's answer (inspect(), approveRetry(), release(),
// forceRelease(), or inspect()'s counts for stats) on stdout, also when refused.

const fs = require('node:fs')
const path = require('node:path')
const { parseArgs } = require('node:util')

const USAGE = {
  main: `Usage: task-guard <command> [options]
       task-guard --version

Commands:
  inspect    list guards (running, stale, failed, approved)
  approve    let a failed task run again
  release    end a run on its owner's behalf, or --force a dead one
  stats      count guards by state
  metrics    the store's guards by state, as Prometheus text

Every command takes --store <url> (or TASK_GUARD_STORE), e.g. sqlite:./guards.db,
--namespace <ns>, and --json for the answer as JSON. A SQLite file must exist:
the CLI never creates a store. 'task-guard <command> --help' for more.
Exit codes: 0 done, 1 refused by the guard, 2 usage or store error.`,
  inspect: `Usage: task-guard inspect [--prefix P] [--state running|stale|failed|approved] [--limit N] [--after CURSOR | --all] [--json]

Lists guards, one line each: key (shortened with … past 60 characters; in full
with --json), state, run, owner, age, expiry, attempt, and a detail: the error
of a failed run, who approved a retry and why, the meta of a running one.
Control characters are shown escaped (\\n). With --namespace, keys are shown
without it. One page at a time: --limit guards (default 100, at most 1000);
when there are more, the last line says how to get the next page (--after
<cursor>). --all lists every page. --json prints inspect()'s answer:
{ now, guards: [...], counts, next } (with --all: every guard, next null).`,
  approve: `Usage: task-guard approve <key> --by <name> [--reason R] [--json]

Approves a retry of a failed guard: the next acquire runs it as attempt + 1.
Exits 1 if the guard has not failed. --json prints approveRetry()'s answer.`,
  release: `Usage: task-guard release <key> --run <runId> --status cancelled|failed [--error E] [--json]
       task-guard release <key> --force [--by <name>] [--reason R] [--json]

The first ends a run on its owner's behalf. --force clears a running or stale
run whose owner is gone, recorded as forced; its owner later gets 'lost'.
Exits 1 if the guard refuses (not the owner, already released, nothing running).
--json prints release()'s or forceRelease()'s answer.`,
  stats: `Usage: task-guard stats [--prefix P] [--json]

Counts guards by state. --json prints { running, stale, failed, approved }.`,
  metrics: `Usage: task-guard metrics

Prints the store's gauges, task_guard_guards{state}, as Prometheus text exposition
(for a textfile collector or a scrape wrapper). The counters of answers live in each
guard's process: guard.metrics() there.`,
}

const COMMON = {
  store: { type: 'string' },
  namespace: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}
const OPTIONS = {
  inspect: {
    ...COMMON,
    prefix: { type: 'string' },
    state: { type: 'string' },
    limit: { type: 'string' },
    after: { type: 'string' },
    all: { type: 'boolean' },
  },
  approve: { ...COMMON, by: { type: 'string' }, reason: { type: 'string' } },
  release: {
    ...COMMON,
    run: { type: 'string' },
    status: { type: 'string' },
    error: { type: 'string' },
    force: { type: 'boolean' },
    by: { type: 'string' },
    reason: { type: 'string' },
  },
  stats: { ...COMMON, prefix: { type: 'string' } },
  metrics: { ...COMMON },
}

class UsageError extends Error {}
/** The guard said no: exit 1, with the answer printed under --json. */
class Refused extends Error {
  constructor(message, answer) {
    super(message)
    this.answer = answer
  }
}

/**
 * parseArgs, with its errors turned into one short line. Strict parsing would
 * reject the same things, in several lines of text meant for programmers.
 */
function parseOptions(command, args) {
  const options = OPTIONS[command]
  const see = `(see task-guard ${command} --help)`
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true })
  const values = {}
  const positionals = []
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value)
    if (t.kind !== 'option') continue
    const spec = options[t.name]
    if (!spec) throw new UsageError(`unknown option ${t.rawName} ${see}`)
    if (spec.type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`option ${t.rawName} takes no value ${see}`)
      values[t.name] = true
    } else {
      // `--store --json` reads as a forgotten value, not a store named '--json'.
      if (t.value === undefined || (!t.inlineValue && t.value.startsWith('-'))) {
        throw new UsageError(`option ${t.rawName} needs a value ${see}`)
      }
      values[t.name] = t.value
    }
  }
  return { values, positionals }
}

function duration(ms) {
  const s = Math.round(Math.max(0, ms) / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

// C0/C1 controls, DEL, line/paragraph separators and bidirectional overrides:
// anything that would break a row or make it read as something else.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
const ESCAPES = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }
/** One printable line: control characters escaped as in JSON (\n, \u001b). */
function printable(value) {
  return String(value).replace(UNSAFE, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** At most `max` characters: cut at the end with '…', or in the middle (`keep: 'ends'`). */
function shorten(text, max, keep = 'start') {
  const chars = Array.from(text)
  if (chars.length <= max) return text
  if (keep === 'ends') {
    const tail = Math.floor((max - 1) / 2)
    return `${chars.slice(0, max - 1 - tail).join('')}…${chars.slice(chars.length - tail).join('')}`
  }
  return `${chars.slice(0, max - 1).join('')}…`
}

const cell = (value, max, keep) => shorten(printable(value), max, keep)

function table(rows, columns) {
  const width = (s) => Array.from(String(s)).length
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => width(r[c]))))
  const line = (r) => columns.map((c, i) => String(r[c]) + ' '.repeat(widths[i] - width(r[c]))).join('  ').trimEnd()
  return [line(Object.fromEntries(columns.map((c) => [c, c.toUpperCase()]))), ...rows.map(line)].join('\n')
}

function expiry(g, now) {
  if (g.state !== 'running' && g.state !== 'stale') return '-'
  return g.expiresAt > now ? `in ${duration(g.expiresAt - now)}` : `expired ${duration(now - g.expiresAt)} ago`
}

function detail(g) {
  if (g.state === 'failed') return g.error ?? '-'
  if (g.state === 'approved') {
    const who = g.approvedBy ? `approved by ${g.approvedBy}` : 'approved'
    const why = g.reason ? `: ${g.reason}` : ''
    return `${who}${why}${g.error ? ` (failed: ${g.error})` : ''}`
  }
  return g.meta === null || g.meta === undefined ? '-' : JSON.stringify(g.meta)
}

/** Every page, as one answer: the first page's time and counts, every guard. */
async function allPages(guard, filter) {
  const first = await guard.inspect({ ...filter, limit: filter.limit ?? 1000 })
  const guards = [...first.guards]
  for (let after = first.next; after !== null; ) {
    const page = await guard.inspect({ prefix: filter.prefix, state: filter.state, limit: filter.limit ?? 1000, after })
    guards.push(...page.guards)
    after = page.next
  }
  return { ...first, guards, next: null }
}

async function inspect(guard, values) {
  const limit = values.limit === undefined ? undefined : Number(values.limit)
  if (values.limit !== undefined && !Number.isInteger(limit)) throw new UsageError(`--limit must be a whole number, not ${values.limit}`)
  if (values.all && values.after !== undefined) throw new UsageError('--all lists every page: it takes no --after')
  const filter = { prefix: values.prefix, state: values.state, limit }
  const r = values.all ? await allPages(guard, filter) : await guard.inspect({ ...filter, after: values.after })
  if (values.json) return r
  const more = r.next === null ? [] : [`more: task-guard inspect${options(values)} --after ${r.next}   (or --all)`]
  if (r.guards.length === 0) return ['no guards', ...more].join('\n')
  const rows = r.guards.map((g) => ({
    key: cell(g.key, 60, 'ends'),
    state: g.state,
    run: cell(g.runId, 36),
    owner: cell(g.owner ?? '-', 32),
    age: duration(r.now - g.startedAt),
    expires: expiry(g, r.now),
    attempt: g.attempt,
    detail: cell(detail(g), 100),
  }))
  return [table(rows, ['key', 'state', 'run', 'owner', 'age', 'expires', 'attempt', 'detail']), ...more].join('\n')
}

/** The filter options of this listing, to repeat with --after. */
function options(values) {
  const quote = (v) => (/^[\w.:\/@%+=-]+$/.test(v) ? v : `'${v.replaceAll("'", "'\\''")}'`)
  return ['prefix', 'state', 'limit', 'store', 'namespace']
    .filter((o) => values[o] !== undefined && (o !== 'store' || values.store))
    .map((o) => ` --${o} ${quote(values[o])}`)
    .join('')
}

async function approve(guard, values, key) {
  if (!values.by) throw new UsageError('approve needs --by <name>')
  const r = await guard.approveRetry(key, { approvedBy: values.by, reason: values.reason })
  if (r.status !== 'approved') throw new Refused(`${key}: not failed, nothing to approve`, r)
  if (values.json) return r
  return `approved ${key}: failed run ${r.failedRunId}; the next acquire runs attempt ${r.nextAttempt}`
}

async function release(guard, values, key) {
  if (values.force) {
    if (values.run || values.status) throw new UsageError('--force takes no --run or --status')
    const r = await guard.forceRelease(key, { by: values.by, reason: values.reason })
    if (r.status !== 'released') throw new Refused(`${key}: no running run to force-release`, r)
    return values.json ? r : `force-released ${key}: run ${r.runId}`
  }
  if (!values.run) throw new UsageError('release needs --run <runId> (or --force)')
  if (values.status !== 'cancelled' && values.status !== 'failed') {
    throw new UsageError('release needs --status cancelled or --status failed')
  }
  const r = await guard.release(key, values.run, values.status, { error: values.error })
  if (r.status !== 'released') throw new Refused(`${key}: run ${values.run} not released (${r.status})`, r)
  return values.json ? r : `released ${key}: run ${values.run} as ${values.status}`
}

async function stats(guard, values) {
  const { counts } = await guard.inspect({ prefix: values.prefix, limit: 0 })
  if (values.json) return counts
  return table([counts], ['running', 'stale', 'failed', 'approved'])
}

/** The store's gauges: the gauge family of a guard's metrics (this process counted no answers). */
async function metrics(guard) {
  const text = await guard.metrics()
  return text.slice(text.indexOf('# HELP task_guard_guards ')).trimEnd()
}

const COMMANDS = { inspect, approve, release, stats, metrics }
const TAKES_KEY = new Set(['approve', 'release'])

/**
 * Opening a SQLite store creates its file: an operator's typo would make a new,
 * empty store and answer 'no guards'. The path is read as the store reads it.
 */
function mustExist(store) {
  if (!store.startsWith('sqlite:')) return
  const rest = store.slice('sqlite:'.length)
  const file = rest.startsWith('//') ? rest.slice(2) : rest
  if (file === '' || file === ':memory:' || file.includes('\0')) return // the store refuses these itself
  if (!fs.existsSync(path.resolve(file))) {
    throw new UsageError(`${file} does not exist (store ${store}); the CLI opens existing stores only`)
  }
}

async function main(argv) {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    return { out: USAGE.main, code: command === undefined ? 2 : 0 }
  }
  if (command === '--version' || command === '-v') return { out: require('../package.json').version, code: 0 }
  if (command.startsWith('-')) throw new UsageError(`unknown option ${command} (see task-guard --help)`)
  if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command ${JSON.stringify(command)}; see task-guard --help`)
  const { values, positionals } = parseOptions(command, rest)
  if (values.help) return { out: USAGE[command], code: 0 }
  const wanted = TAKES_KEY.has(command) ? 1 : 0
  if (positionals.length !== wanted) {
    throw new UsageError(wanted ? `${command} needs exactly one <key>` : `${command} takes no positional arguments`)
  }
  const store = values.store ?? process.env.TASK_GUARD_STORE
  if (!store) throw new UsageError('no store: pass --store <url> or set TASK_GUARD_STORE (e.g. sqlite:./guards.db)')
  // Loaded only now, so help and usage errors work even where the native binary is missing.
  const { TaskGuard } = require('..')
  mustExist(store)
  const guard = await TaskGuard.open({ store, namespace: values.namespace })
  try {
    const answer = await COMMANDS[command](guard, values, positionals[0])
    return { out: values.json ? json(answer) : answer, code: 0 }
  } catch (err) {
    if (err instanceof Refused && values.json) err.out = json(err.answer)
    throw err
  } finally {
    await guard.close()
  }
}

const json = (value) => JSON.stringify(value, null, 2)

main(process.argv.slice(2)).then(
  ({ out, code }) => {
    process.stdout.write(`${out}\n`)
    process.exitCode = code
  },
  (err) => {
    const refused = err instanceof Refused
    if (refused && err.out) process.stdout.write(`${err.out}\n`)
    // Our own messages may quote a key or a value: escaped, so they stay one line.
    const message = err instanceof UsageError || refused ? err.message : `${err.code ?? 'error'}: ${err.message.split('\n')[0]}`
    process.stderr.write(`task-guard: ${printable(message)}\n`)
    process.exitCode = refused ? 1 : 2
  },
)
