import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TaskGuard } from '../index.mjs'
import helpers from './sqlite-helpers.cjs'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'

const BIN = new URL('../bin/task-guard.js', import.meta.url).pathname

function cli(args, env = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, TASK_GUARD_STORE: '', ...env }, timeout: 20_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

async function database() {
  const file = path.join(helpers.tempDir(), 'guards.db')
  const store = `sqlite:${file}`
  const g = await TaskGuard.open({ store })
  const running = await g.acquire('agent:main:web:1::report', { owner: 'gw-1' })
  const failed = await g.acquire('agent:main:web:1::sync', { owner: 'gw-2' })
  await g.release('agent:main:web:1::sync', failed.runId, 'failed', { error: 'IMAP login failed' })
  await g.close()
  return { store, running, failed }
}

test('cli inspect: a table of guards, and JSON with --json', async () => {
  const { store, running, failed } = await database()
  const t = cli(['inspect', '--store', store])
  assert.equal(t.code, 0, t.err)
  const lines = t.out.trim().split('\n')
  assert.match(lines[0], /^KEY\s+STATE\s+RUN\s+OWNER\s+AGE\s+EXPIRES\s+ATTEMPT\s+DETAIL$/)
  assert.match(lines[1], new RegExp(`^agent:main:web:1::report\\s+running\\s+${running.runId}\\s+gw-1\\s+\\d+s\\s+in (9m\\d\\ds|10m00s)\\s+1\\s+-$`))
  assert.match(lines[2], new RegExp(`^agent:main:web:1::sync\\s+failed\\s+${failed.runId}\\s+gw-2\\s+.*IMAP login failed$`))
  const j = cli(['inspect', '--state', 'failed', '--json'], { TASK_GUARD_STORE: store })
  assert.equal(j.code, 0, j.err)
  const parsed = JSON.parse(j.out)
  assert.deepEqual(parsed.guards.map((g) => [g.key, g.state, g.error]), [['agent:main:web:1::sync', 'failed', 'IMAP login failed']])
  assert.deepEqual(parsed.counts, { running: 1, stale: 0, failed: 1, approved: 0 })
})

test('cli inspect pages: --limit and --after, the next command on the last line, --all, next in --json', async () => {
  const file = path.join(helpers.tempDir(), 'guards.db')
  const store = `sqlite:${file}`
  const g = await TaskGuard.open({ store })
  for (let i = 0; i < 5; i++) await g.acquire(`s::t${i}`, { owner: 'o' })
  await g.close()
  const first = cli(['inspect', '--store', store, '--prefix', 's::', '--limit', '2'])
  assert.equal(first.code, 0, first.err)
  const lines = first.out.trim().split('\n')
  assert.equal(lines.length, 4)
  const more = lines[3].match(/^more: task-guard inspect (.+) --after (\S+)   \(or --all\)$/)
  assert.ok(more, lines[3])
  assert.equal(more[1], `--prefix s:: --limit 2 --store ${store}`)
  const second = cli(['inspect', '--store', store, '--prefix', 's::', '--limit', '2', '--after', more[2], '--json'])
  const page = JSON.parse(second.out)
  assert.deepEqual(page.guards.map((x) => x.key), ['s::t2', 's::t3'])
  assert.equal(typeof page.next, 'string')
  const all = JSON.parse(cli(['inspect', '--store', store, '--limit', '2', '--all', '--json']).out)
  assert.deepEqual([all.guards.length, all.next, all.counts.running], [5, null, 5])
  const bad = cli(['inspect', '--store', store, '--after', more[2]])
  assert.equal(bad.code, 2)
  assert.match(bad.err, /ERR_TASK_GUARD_INVALID_ARG: after must be the `next` cursor/)
  assert.equal(cli(['inspect', '--store', store, '--all', '--after', more[2]]).code, 2)
})

test('cli approve: approves a failed guard (exit 0), refuses a second time (exit 1)', async () => {
  const { store, failed } = await database()
  const ok = cli(['approve', 'agent:main:web:1::sync', '--by', 'ops', '--reason', 'password rotated', '--store', store])
  assert.equal(ok.code, 0, ok.err)
  assert.match(ok.out, new RegExp(`approved agent:main:web:1::sync: failed run ${failed.runId}; the next acquire runs attempt 2`))
  const again = cli(['approve', 'agent:main:web:1::sync', '--by', 'ops', '--store', store])
  assert.equal(again.code, 1)
  assert.equal(again.err, 'task-guard: agent:main:web:1::sync: not failed, nothing to approve\n')
  const g = await TaskGuard.open({ store })
  const next = await g.acquire('agent:main:web:1::sync')
  assert.equal(next.status, 'acquired')
  assert.equal(next.attempt, 2)
  await g.close()
})

test('cli release: on the owner\'s behalf, and --force for a dead run', async () => {
  const { store, running, failed } = await database()
  const key = 'agent:main:web:1::report'
  const wrong = cli(['release', key, '--run', failed.runId, '--status', 'cancelled', '--store', store])
  assert.equal(wrong.code, 1)
  assert.match(wrong.err, /not released \(not_owner\)/)
  const ok = cli(['release', key, '--run', running.runId, '--status', 'cancelled', '--store', store])
  assert.equal(ok.code, 0, ok.err)
  assert.equal(cli(['release', key, '--run', running.runId, '--status', 'cancelled', '--store', store]).code, 1)

  const g = await TaskGuard.open({ store })
  const dead = await g.acquire(key, { owner: 'crashed' })
  await g.close()
  const forced = cli(['release', key, '--force', '--by', 'ops', '--reason', 'worker died', '--store', store])
  assert.equal(forced.code, 0, forced.err)
  assert.equal(forced.out, `force-released ${key}: run ${dead.runId}\n`)
  assert.equal(cli(['release', key, '--force', '--store', store]).code, 1)
  const g2 = await TaskGuard.open({ store })
  assert.equal((await g2.release(key, dead.runId)).status, 'lost')
  assert.equal((await g2.acquire(key)).status, 'acquired')
  await g2.close()
})

test('cli stats: counts by state', async () => {
  const { store } = await database()
  const t = cli(['stats', '--store', store])
  assert.equal(t.code, 0, t.err)
  assert.match(t.out, /RUNNING\s+STALE\s+FAILED\s+APPROVED\n1\s+0\s+1\s+0/)
  assert.deepEqual(JSON.parse(cli(['stats', '--json', '--store', store]).out), { running: 1, stale: 0, failed: 1, approved: 0 })
})

test('cli usage and store errors exit 2 with one line on stderr', async () => {
  const { store } = await database()
  const cases = [
    [['frob', '--store', store], /unknown command "frob"/],
    [['inspect'], /no store/],
    [['inspect', '--store', store, '--bogus'], /^task-guard: unknown option --bogus \(see task-guard inspect --help\)$/m],
    [['inspect', '--store', store, '--state', 'idle'], /ERR_TASK_GUARD_INVALID_ARG/],
    [['approve', '--store', store, '--by', 'x'], /exactly one <key>/],
    [['approve', 'k', '--store', store], /--by/],
    [['release', 'k', '--store', store], /--run/],
    [['release', 'k', '--run', 'r', '--status', 'succeeded', '--store', store], /--status cancelled or --status failed/],
    [['inspect', '--store', 'redis-ish:x'], /ERR_TASK_GUARD_INVALID_ARG/],
    [['inspect', '--store', 'sqlite:/no/such/dir/g.db'], /^task-guard: \/no\/such\/dir\/g\.db does not exist/],
    [['inspect', '--store', `sqlite:${path.dirname(store.slice('sqlite:'.length))}`], /ERR_TASK_GUARD_STORE_UNAVAILABLE/],
  ]
  for (const [args, pattern] of cases) {
    const r = cli(args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`)
    assert.match(r.err, pattern)
    assert.equal(r.err.trim().split('\n').length, 1, r.err)
    assert.equal(r.out, '')
  }
})

test('cli metrics: the store\'s gauges as Prometheus text a Prometheus parser reads', async () => {
  const { store } = await database()
  const t = cli(['metrics', '--store', store])
  assert.equal(t.code, 0, t.err)
  const families = parsePrometheusTextFormat(t.out)
  assert.deepEqual(families.map((f) => [f.name, f.type]), [['task_guard_guards', 'GAUGE']])
  assert.deepEqual(Object.fromEntries(families[0].metrics.map((m) => [m.labels.state, Number(m.value)])), { running: 1, stale: 0, failed: 1, approved: 0 })
})

test('cli --help for the tool and for each command', () => {
  const main = cli(['--help'])
  assert.equal(main.code, 0)
  assert.match(main.out, /Commands:\n\s+inspect/)
  for (const c of ['inspect', 'approve', 'release', 'stats', 'metrics']) {
    const r = cli([c, '--help'])
    assert.equal(r.code, 0)
    assert.match(r.out, new RegExp(`^Usage: task-guard ${c}`))
  }
})

test('cli never creates a store: a missing SQLite file exits 2 and stays missing', () => {
  const dir = helpers.tempDir()
  const file = path.join(dir, 'typo.db')
  const cases = [
    ['inspect', '--store', `sqlite:${file}`],
    ['inspect', '--json', '--store', `sqlite://${file}`],
    ['stats', '--store', `sqlite:${file}`],
    ['stats', '--json'],
    ['approve', 'k', '--by', 'ops', '--store', `sqlite:${file}`],
    ['release', 'k', '--force', '--store', `sqlite:${file}`],
  ]
  for (const args of cases) {
    const r = cli(args, { TASK_GUARD_STORE: `sqlite:${file}` })
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}${r.err}`)
    assert.equal(r.out, '')
    assert.equal(r.err, `task-guard: ${file} does not exist (store sqlite:${args.includes(`sqlite://${file}`) ? '//' : ''}${file}); the CLI opens existing stores only\n`)
    assert.deepEqual(fs.readdirSync(dir), [], `${args.join(' ')} created ${fs.readdirSync(dir)}`)
  }
  // A relative path is looked up from the working directory, as the store resolves it.
  const rel = spawnSync(process.execPath, [BIN, 'inspect', '--store', 'sqlite:./typo.db'], { cwd: dir, encoding: 'utf8', env: { ...process.env, TASK_GUARD_STORE: '' } })
  assert.equal(rel.status, 2)
  assert.match(rel.stderr, /^task-guard: \.\/typo\.db does not exist/)
  assert.deepEqual(fs.readdirSync(dir), [])
})

test('cli --version prints the package version', () => {
  const { version } = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  for (const flag of ['--version', '-v']) {
    const r = cli([flag])
    assert.equal(r.code, 0, r.err)
    assert.equal(r.out, `${version}\n`)
    assert.equal(r.err, '')
  }
})

test('cli unknown or malformed options: one clean line naming the command\'s help, exit 2', async () => {
  const { store } = await database()
  const cases = [
    [['inspect', '--foo', '--store', store], 'task-guard: unknown option --foo (see task-guard inspect --help)'],
    [['stats', '-x', '--store', store], 'task-guard: unknown option -x (see task-guard stats --help)'],
    [['approve', 'k', '--by', 'ops', '--force', '--store', store], 'task-guard: unknown option --force (see task-guard approve --help)'],
    [['release', 'k', '--forse', '--store', store], 'task-guard: unknown option --forse (see task-guard release --help)'],
    [['--foo'], 'task-guard: unknown option --foo (see task-guard --help)'],
    [['inspect', '--store'], 'task-guard: option --store needs a value (see task-guard inspect --help)'],
    [['inspect', '--store', '--json'], 'task-guard: option --store needs a value (see task-guard inspect --help)'],
    [['inspect', '--json=yes', '--store', store], 'task-guard: option --json takes no value (see task-guard inspect --help)'],
  ]
  for (const [args, line] of cases) {
    const r = cli(args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`)
    assert.equal(r.err, `${line}\n`)
    assert.equal(r.out, '')
  }
  // '--' ends the options: a key may start with a dash.
  const dash = cli(['approve', '--by', 'ops', '--store', store, '--', '--odd-key'])
  assert.equal(dash.code, 1, dash.err)
  assert.equal(dash.err, 'task-guard: --odd-key: not failed, nothing to approve\n')
})

test('cli --json on every command: the API answer, on stdout, also when refused', async () => {
  const { store, running, failed } = await database()
  const json = (args) => {
    const r = cli([...args, '--json', '--store', store])
    return { ...r, value: r.out ? JSON.parse(r.out) : undefined }
  }
  const inspected = json(['inspect'])
  assert.equal(inspected.code, 0, inspected.err)
  assert.deepEqual(Object.keys(inspected.value), ['now', 'guards', 'counts', 'next'])
  assert.deepEqual(Object.keys(inspected.value.guards[0]), [
    'key', 'state', 'runId', 'fencingToken', 'owner', 'startedAt', 'expiresAt', 'attempt', 'meta',
    'failedAt', 'error', 'approvedAt', 'approvedBy', 'reason',
  ])
  assert.deepEqual(json(['stats']).value, { running: 1, stale: 0, failed: 1, approved: 0 })

  const approved = json(['approve', 'agent:main:web:1::sync', '--by', 'ops'])
  assert.equal(approved.code, 0, approved.err)
  assert.deepEqual(Object.keys(approved.value), ['status', 'key', 'failedRunId', 'approvedAt', 'nextAttempt'])
  assert.deepEqual([approved.value.status, approved.value.failedRunId, approved.value.nextAttempt], ['approved', failed.runId, 2])
  const again = json(['approve', 'agent:main:web:1::sync', '--by', 'ops'])
  assert.equal(again.code, 1)
  assert.deepEqual(again.value, { status: 'not_failed', key: 'agent:main:web:1::sync' })
  assert.equal(again.err, 'task-guard: agent:main:web:1::sync: not failed, nothing to approve\n')

  const key = 'agent:main:web:1::report'
  const notOwner = json(['release', key, '--run', failed.runId, '--status', 'cancelled'])
  assert.equal(notOwner.code, 1, notOwner.err)
  assert.deepEqual(notOwner.value, { status: 'not_owner', key, runId: failed.runId })
  const released = json(['release', key, '--run', running.runId, '--status', 'failed', '--error', 'stuck'])
  assert.equal(released.code, 0, released.err)
  assert.deepEqual(Object.keys(released.value), ['status', 'key', 'runId', 'endedAt'])
  assert.equal(released.value.runId, running.runId)
  const notRunning = json(['release', key, '--force'])
  assert.equal(notRunning.code, 1)
  assert.deepEqual(notRunning.value, { status: 'not_running', key })
  const g = await TaskGuard.open({ store })
  const dead = await g.acquire('agent:main:web:1::gone')
  await g.close()
  const forced = json(['release', 'agent:main:web:1::gone', '--force', '--by', 'ops'])
  assert.equal(forced.code, 0, forced.err)
  assert.deepEqual([forced.value.status, forced.value.runId], ['released', dead.runId])
  // Usage and store errors print nothing on stdout, JSON or not.
  const bad = cli(['inspect', '--json', '--state', 'idle', '--store', store])
  assert.equal(bad.code, 2)
  assert.equal(bad.out, '')
})

test('cli inspect table: one line per guard, escaped and shortened; approvals, expiry and namespaces read plainly', async () => {
  const file = path.join(helpers.tempDir(), 'guards.db')
  const store = `sqlite:${file}`
  const longKey = `agent:main:telegram:direct:123456::tool:exec:${'node scripts/backup.js --bucket archive '.repeat(5)}--verbose`
  const g = await TaskGuard.open({ store })
  const multi = await g.acquire('agent:main:web:1::multi', { owner: 'gw\n1' })
  await g.release('agent:main:web:1::multi', multi.runId, 'failed', { error: 'first line\nsecond line\r\n\u001b[31mred\u001b[0m\ttab' })
  const approved = await g.acquire('agent:main:web:1::quota')
  await g.release('agent:main:web:1::quota', approved.runId, 'failed', { error: 'bucket quota exceeded' })
  await g.approveRetry('agent:main:web:1::quota', { approvedBy: 'ops', reason: 'quota raised' })
  await g.acquire('agent:main:web:1::stale', { ttlMs: 1, meta: { gateway: 'gw-1' } })
  await g.acquire(longKey)
  await g.acquire('bad\nkey')
  await g.close()
  const ns = await TaskGuard.open({ store, namespace: 'openclaw' })
  await ns.acquire('agent:main:web:2::report')
  await ns.close()
  await new Promise((resolve) => setTimeout(resolve, 30))

  const t = cli(['inspect', '--store', store])
  assert.equal(t.code, 0, t.err)
  const lines = t.out.trimEnd().split('\n')
  assert.equal(lines.length, 1 + 6, t.out)
  assert.match(lines[0], /^KEY\s+STATE\s+RUN\s+OWNER\s+AGE\s+EXPIRES\s+ATTEMPT\s+DETAIL$/)
  assert.doesNotMatch(t.out, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'no raw control characters')
  const row = (start) => lines.find((l) => l.startsWith(start)) ?? assert.fail(`no row ${start} in\n${t.out}`)
  assert.match(row('agent:main:web:1::multi '), /\sgw\\n1\s.*\sfirst line\\nsecond line\\r\\n\\u001b\[31mred\\u001b\[0m\\ttab$/)
  assert.match(row('bad\\nkey '), /\srunning\s/)
  assert.match(row('agent:main:web:1::quota '), /\sapproved\s.*\sapproved by ops: quota raised \(failed: bucket quota exceeded\)$/)
  assert.match(row('agent:main:web:1::stale '), /\sstale\s.*\sexpired \d+s ago\s+1\s+\{"gateway":"gw-1"\}$/)
  assert.doesNotMatch(t.out, /expires in|-\d+s/i)
  assert.match(row('agent:main:web:1::multi '), /\sfailed\s.*\s\d+s\s+-\s+1\s/)
  const running = lines.find((l) => /\srunning\s/.test(l) && l.includes('…'))
  assert.ok(running, `the long key is shortened:\n${t.out}`)
  const shown = running.split(/\s{2,}/)[0]
  assert.ok(Array.from(shown).length <= 60, shown)
  assert.ok(shown.startsWith('agent:main:telegram:') && shown.endsWith('--verbose'), shown)
  assert.match(running, /\sin (9m5\ds|10m00s)\s/)
  assert.ok(row('openclaw/agent:main:web:2::report '))
  const full = JSON.parse(cli(['inspect', '--json', '--store', store]).out)
  assert.ok(full.guards.some((x) => x.key === longKey), 'the full key in --json')

  const inNs = cli(['inspect', '--namespace', 'openclaw', '--store', store])
  assert.equal(inNs.code, 0, inNs.err)
  assert.match(inNs.out.trimEnd().split('\n')[1], /^agent:main:web:2::report\s+running\s/)
  assert.equal(inNs.out.trimEnd().split('\n').length, 2)
})
