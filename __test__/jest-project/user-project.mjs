// A user's Jest project: task-guard installed from the release tarballs into a fresh
// project with jest, ts-jest and typescript (the repository's versions), TypeScript
// test files (template/) run in parallel workers under modern fake timers enabled
// globally, with --detectOpenHandles. Passes only if every test passes, the run ends
// by itself and Jest reports no open handle.

import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { cleanEnv, run, stageRelease } from '../release-tarballs.mjs'

const redis = createRequire(import.meta.url)('../redis-helpers.cjs')

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../..')
const devVersion = (name) => JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version

let stage
let project
/** The redis-server redis.test.ts uses. */
let server

before(async () => {
  assert.ok(redis.haveRedis, 'redis-server is required (redis.test.ts)')
  server = await redis.startRedis()
  stage = mkdtempSync(path.join(tmpdir(), 'tg-jest-user-'))
  const release = stageRelease(stage)
  project = path.join(stage, 'project')
  mkdirSync(project)
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'tg-jest-user', version: '1.0.0', private: true }))
  for (const f of readdirSync(path.join(here, 'template'))) copyFileSync(path.join(here, 'template', f), path.join(project, f))
  const deps = ['jest', 'ts-jest', 'typescript', '@types/node'].map((d) => `${d}@${devVersion(d)}`)
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', release.rootTgz, release.platformTgz, ...deps], { cwd: project })
})

after(async () => {
  if (stage) rmSync(stage, { recursive: true, force: true })
  await server?.stop()
})

test("the test files type-check against the installed package's types", () => {
  // ts-jest with isolatedModules transpiles without checking types; tsc checks them.
  run(process.execPath, [path.join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', '.'], { cwd: project })
})

test('the Jest project passes: 7 files in parallel workers, fake timers, no open handle', () => {
  const jest = path.join(project, 'node_modules', 'jest', 'bin', 'jest.js')
  const r = spawnSync(process.execPath, [jest, '--ci', '--detectOpenHandles', '--maxWorkers=2', '--colors=false'], {
    cwd: project,
    env: cleanEnv({ CI: 'true', TASK_GUARD_TEST_REDIS: server.url, TASK_GUARD_TEST_REDIS_PID: String(server.pid) }),
    encoding: 'utf8',
    timeout: 240_000,
  })
  const out = `${r.stdout}\n${r.stderr}`
  assert.equal(r.signal, null, `jest was killed (${r.signal}): it did not end by itself\n${out}`)
  assert.equal(r.status, 0, out)
  assert.match(out, /Test Suites: 7 passed, 7 total/, out)
  assert.match(out, /Tests: +21 passed, 21 total/, out)
  assert.doesNotMatch(out, /open handle/i, out)
})
