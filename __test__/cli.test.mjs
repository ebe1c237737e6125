import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TaskGuard } from '../index.mjs'
import helpers from './sqlite-helpers.cjs'

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
  assert.match(lines[0], /^KEY\s+STATE\s+RUN\s+OWNER\s+AGE\s+EXPIRES IN\s+ATTEMPT\s+ERROR$/)
  assert.match(lines[1], new RegExp(`^agent:main:web:1::report\\s+running\\s+${running.runId}\\s+gw-1\\s+\\d+s\\s+(9m\\d\\ds|10m00s)\\s+1\\s+-$`))
  assert.match(lines[2], new RegExp(`^agent:main:web:1::sync\\s+failed\\s+${failed.runId}\\s+gw-2\\s+.*IMAP login failed$`))
  const j = cli(['inspect', '--state', 'failed', '--json'], { TASK_GUARD_STORE: store })
  assert.equal(j.code, 0, j.err)
  const parsed = JSON.parse(j.out)
  assert.deepEqual(parsed.guards.map((g) => [g.key, g.state, g.error]), [['agent:main:web:1::sync', 'failed', 'IMAP login failed']])
  assert.deepEqual(parsed.counts, { running: 1, stale: 0, failed: 1, approved: 0 })
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
  const { store, running } = await database()
  const key = 'agent:main:web:1::report'
  const wrong = cli(['release', key, '--run', 'not-a-run', '--status', 'cancelled', '--store', store])
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
    [['inspect', '--store', store, '--bogus'], /Unknown option '--bogus'/],
    [['inspect', '--store', store, '--state', 'idle'], /ERR_TASK_GUARD_INVALID_ARG/],
    [['approve', '--store', store, '--by', 'x'], /exactly one <key>/],
    [['approve', 'k', '--store', store], /--by/],
    [['release', 'k', '--store', store], /--run/],
    [['release', 'k', '--run', 'r', '--status', 'succeeded', '--store', store], /--status cancelled or --status failed/],
    [['inspect', '--store', 'redis-ish:x'], /ERR_TASK_GUARD_INVALID_ARG/],
    [['inspect', '--store', 'sqlite:/no/such/dir/g.db'], /ERR_TASK_GUARD_STORE_UNAVAILABLE/],
  ]
  for (const [args, pattern] of cases) {
    const r = cli(args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`)
    assert.match(r.err, pattern)
    assert.equal(r.err.trim().split('\n').length, 1, r.err)
    assert.equal(r.out, '')
  }
})

test('cli --help for the tool and for each command', () => {
  const main = cli(['--help'])
  assert.equal(main.code, 0)
  assert.match(main.out, /Commands:\n\s+inspect/)
  for (const c of ['inspect', 'approve', 'release', 'stats']) {
    const r = cli([c, '--help'])
    assert.equal(r.code, 0)
    assert.match(r.out, new RegExp(`^Usage: task-guard ${c}`))
  }
})
