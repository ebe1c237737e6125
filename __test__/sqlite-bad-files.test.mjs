import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TaskGuard } from '../index.mjs'
import helpers from './sqlite-helpers.cjs'

const { tempDir, sql, snapshotDir } = helpers
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname

async function refusedUnchanged(dir, file, code, pattern) {
  const before = snapshotDir(dir)
  await assert.rejects(TaskGuard.open({ store: `sqlite:${file}` }), (err) => {
    assert.equal(err.code, code, err.message)
    assert.match(err.message, pattern)
    return true
  })
  assert.deepEqual(snapshotDir(dir), before, 'no file was created or changed')
}

test('a file that is not SQLite is refused with ERR_TASK_GUARD_STORE_CORRUPT and left alone', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'guards.db')
  fs.writeFileSync(file, Buffer.alloc(8192, 'not a database, just bytes '))
  await refusedUnchanged(dir, file, 'ERR_TASK_GUARD_STORE_CORRUPT', /not an SQLite database/)
})

test('a damaged task-guard file is refused with ERR_TASK_GUARD_STORE_CORRUPT and left alone', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'guards.db')
  const g = await TaskGuard.open({ store: `sqlite:${file}` })
  await g.acquire('k')
  await g.close()
  for (const f of fs.readdirSync(dir)) if (f !== 'guards.db') fs.rmSync(path.join(dir, f))
  const bytes = fs.readFileSync(file)
  bytes.fill(0xa5, 0, 100) // the header
  fs.writeFileSync(file, bytes)
  await refusedUnchanged(dir, file, 'ERR_TASK_GUARD_STORE_CORRUPT', /not an SQLite database|damaged/)
})

test('another application\'s SQLite file is refused with ERR_TASK_GUARD_STORE_CORRUPT and left alone', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'app.db')
  sql(file, ['CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)', "INSERT INTO users (name) VALUES ('ada')"])
  await refusedUnchanged(dir, file, 'ERR_TASK_GUARD_STORE_CORRUPT', /not a task-guard/)
  assert.deepEqual(sql(file, ['SELECT name FROM users']), [['ada']])
})

test('a file from a newer task-guard is refused with ERR_TASK_GUARD_STORE_VERSION and left alone', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'guards.db')
  await (await TaskGuard.open({ store: `sqlite:${file}` })).close()
  sql(file, ['PRAGMA journal_mode=DELETE', 'PRAGMA user_version = 99'])
  await refusedUnchanged(dir, file, 'ERR_TASK_GUARD_STORE_VERSION', /schema version 99/)
})

test('a missing directory is ERR_TASK_GUARD_STORE_UNAVAILABLE and is not created', async () => {
  const dir = tempDir()
  const missing = path.join(dir, 'no', 'such')
  await assert.rejects(TaskGuard.open({ store: `sqlite:${path.join(missing, 'g.db')}` }), { code: 'ERR_TASK_GUARD_STORE_UNAVAILABLE' })
  assert.equal(fs.existsSync(path.join(dir, 'no')), false)
})

test('a read-only directory is ERR_TASK_GUARD_STORE_UNAVAILABLE and nothing is written', () => {
  const dir = tempDir()
  const ro = path.join(dir, 'ro')
  fs.mkdirSync(ro)
  fs.chmodSync(ro, 0o555)
  fs.chmodSync(dir, 0o755)
  // Root ignores permission bits, so as root the opener runs as 'nobody'.
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}
  const child = spawnSync(process.execPath, [path.join(FIXTURES, 'open-store.cjs'), `sqlite:${path.join(ro, 'g.db')}`], {
    encoding: 'utf8',
    timeout: 20_000,
    ...asUser,
  })
  assert.equal(child.status, 0, child.stderr)
  assert.equal(child.stdout, 'ERR_TASK_GUARD_STORE_UNAVAILABLE')
  assert.deepEqual(fs.readdirSync(ro), [])
})
