#!/usr/bin/env node
'use strict'
// Operator command line over any store: inspect guards, approve a retry,
// release or force-release a run, count guards by state.
// Exit codes: 0 done, 1 refused by the guard, 2 usage or store error.

const { parseArgs } = require('node:util')

const USAGE = {
  main: `Usage: task-guard <command> [options]

Commands:
  inspect    list guards (running, stale, failed, approved)
  approve    let a failed task run again
  release    end a run on its owner's behalf, or --force a dead one
  stats      count guards by state

Every command takes --store <url> (or TASK_GUARD_STORE), e.g. sqlite:./guards.db,
and --namespace <ns>. 'task-guard <command> --help' for more.
Exit codes: 0 done, 1 refused by the guard, 2 usage or store error.`,
  inspect: `Usage: task-guard inspect [--prefix P] [--state running|stale|failed|approved] [--limit N] [--json]

Lists guards as a table: key, state, run, owner, age, expires in, attempt, error.`,
  approve: `Usage: task-guard approve <key> --by <name> [--reason R]

Approves a retry of a failed guard: the next acquire runs it as attempt + 1.
Exits 1 if the guard has not failed.`,
  release: `Usage: task-guard release <key> --run <runId> --status cancelled|failed [--error E]
       task-guard release <key> --force [--by <name>] [--reason R]

The first ends a run on its owner's behalf. --force clears a running or stale
run whose owner is gone, recorded as forced; its owner later gets 'lost'.
Exits 1 if the guard refuses (not the owner, already released, nothing running).`,
  stats: `Usage: task-guard stats [--prefix P] [--json]

Counts guards by state.`,
}

const COMMON = {
  store: { type: 'string' },
  namespace: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
}
const OPTIONS = {
  inspect: { ...COMMON, prefix: { type: 'string' }, state: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
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
  stats: { ...COMMON, prefix: { type: 'string' }, json: { type: 'boolean' } },
}

class UsageError extends Error {}
class Refused extends Error {}

function duration(ms) {
  const s = Math.round(ms / 1000)
  if (Math.abs(s) < 60) return `${s}s`
  if (Math.abs(s) < 3600) return `${Math.floor(s / 60)}m${String(Math.abs(s) % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((Math.abs(s) % 3600) / 60)).padStart(2, '0')}m`
}

function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)))
  const line = (r) => columns.map((c, i) => String(r[c]).padEnd(widths[i])).join('  ').trimEnd()
  return [line(Object.fromEntries(columns.map((c) => [c, c.toUpperCase()]))), ...rows.map(line)].join('\n')
}

async function inspect(guard, values) {
  const limit = values.limit === undefined ? undefined : Number(values.limit)
  if (values.limit !== undefined && !Number.isInteger(limit)) throw new UsageError(`--limit must be a whole number, not ${values.limit}`)
  const r = await guard.inspect({ prefix: values.prefix, state: values.state, limit })
  if (values.json) return JSON.stringify(r, null, 2)
  if (r.guards.length === 0) return 'no guards'
  const rows = r.guards.map((g) => ({
    key: g.key,
    state: g.state,
    run: g.runId,
    owner: g.owner ?? '-',
    age: duration(r.now - g.startedAt),
    'expires in': g.state === 'running' ? duration(g.expiresAt - r.now) : g.state === 'stale' ? `-${duration(r.now - g.expiresAt)}` : '-',
    attempt: g.attempt,
    error: g.error ?? '-',
  }))
  return table(rows, ['key', 'state', 'run', 'owner', 'age', 'expires in', 'attempt', 'error'])
}

async function approve(guard, values, key) {
  if (!values.by) throw new UsageError('approve needs --by <name>')
  const r = await guard.approveRetry(key, { approvedBy: values.by, reason: values.reason })
  if (r.status !== 'approved') throw new Refused(`${key}: not failed, nothing to approve`)
  return `approved ${key}: failed run ${r.failedRunId}; the next acquire runs attempt ${r.nextAttempt}`
}

async function release(guard, values, key) {
  if (values.force) {
    if (values.run || values.status) throw new UsageError('--force takes no --run or --status')
    const r = await guard.forceRelease(key, { by: values.by, reason: values.reason })
    if (r.status !== 'released') throw new Refused(`${key}: no running run to force-release`)
    return `force-released ${key}: run ${r.runId}`
  }
  if (!values.run) throw new UsageError('release needs --run <runId> (or --force)')
  if (values.status !== 'cancelled' && values.status !== 'failed') {
    throw new UsageError('release needs --status cancelled or --status failed')
  }
  const r = await guard.release(key, values.run, values.status, { error: values.error })
  if (r.status !== 'released') throw new Refused(`${key}: run ${values.run} not released (${r.status})`)
  return `released ${key}: run ${values.run} as ${values.status}`
}

async function stats(guard, values) {
  const { counts } = await guard.inspect({ prefix: values.prefix, limit: 0 })
  if (values.json) return JSON.stringify(counts)
  return table([counts], ['running', 'stale', 'failed', 'approved'])
}

const COMMANDS = { inspect, approve, release, stats }
const TAKES_KEY = new Set(['approve', 'release'])

async function main(argv) {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    return { out: USAGE.main, code: command === undefined ? 2 : 0 }
  }
  if (!(command in COMMANDS)) throw new UsageError(`unknown command ${JSON.stringify(command)}; see task-guard --help`)
  let parsed
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS[command], allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(err.message)
  }
  const { values, positionals } = parsed
  if (values.help) return { out: USAGE[command], code: 0 }
  const wanted = TAKES_KEY.has(command) ? 1 : 0
  if (positionals.length !== wanted) {
    throw new UsageError(wanted ? `${command} needs exactly one <key>` : `${command} takes no positional arguments`)
  }
  const store = values.store ?? process.env.TASK_GUARD_STORE
  if (!store) throw new UsageError('no store: pass --store <url> or set TASK_GUARD_STORE (e.g. sqlite:./guards.db)')
  // Loaded only now, so help and usage errors work even where the native binary is missing.
  const { TaskGuard } = require('..')
  const guard = await TaskGuard.open({ store, namespace: values.namespace })
  try {
    return { out: await COMMANDS[command](guard, values, positionals[0]), code: 0 }
  } finally {
    await guard.close()
  }
}

main(process.argv.slice(2)).then(
  ({ out, code }) => {
    process.stdout.write(`${out}\n`)
    process.exitCode = code
  },
  (err) => {
    const refused = err instanceof Refused
    const message = err instanceof UsageError || refused ? err.message : `${err.code ?? 'error'}: ${err.message}`
    process.stderr.write(`task-guard: ${message.split('\n')[0]}\n`)
    process.exitCode = refused ? 1 : 2
  },
)
