// The package as a user installs it. A staged copy goes through the release
// workflow's publish steps (`napi artifacts`, then `napi prepublish`, which writes
// the root's optionalDependencies), narrowed to the one binary this machine builds;
// `npm pack` packs the root and the platform package; both are installed into a
// fresh project outside the repository (so nothing resolves from its node_modules),
// where ESM, CommonJS, tsc and the CLI (through npx) must work, on every Node major
// package.json's engines claims. A second project installed without the platform
// package must fail with ERR_TASK_GUARD_NO_BINARY naming the platform and package.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodesToTest } from '../node-runtimes.mjs'
import { cleanEnv, run, stageRelease } from '../release-tarballs.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../..')
const require = createRequire(import.meta.url)
const { currentPlatform } = require('../../lib/platform.js')
const rootManifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const platform = currentPlatform()
const platformPackage = `${rootManifest.name}-${platform}`

const npm = (args, cwd) => run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd })

function json(out) {
  const line = out.stdout.trim().split('\n').at(-1)
  return JSON.parse(line)
}

function makeProject(dir) {
  mkdirSync(dir)
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'task-guard-install-check', version: '1.0.0', private: true }))
  return dir
}

const devVersion = (name) => JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version

let stage
let release
let project
let install
let bare

before(() => {
  stage = mkdtempSync(path.join(tmpdir(), 'tg-install-'))
  release = stageRelease(stage)
  project = makeProject(path.join(stage, 'project'))
  for (const f of ['esm.mjs', 'cjs.cjs', 'app.ts', 'app.mts', 'tsconfig.json']) copyFileSync(path.join(here, 'project', f), path.join(project, f))
  // typescript and @types/node at the repository's versions, so npm's cache has them.
  install = npm(
    ['install', '--prefer-offline', release.rootTgz, release.platformTgz, `typescript@${devVersion('typescript')}`, `@types/node@${devVersion('@types/node')}`],
    project,
  )
  bare = makeProject(path.join(stage, 'bare'))
  npm(['install', '--prefer-offline', '--omit=optional', release.rootTgz], bare)
})

after(() => {
  if (stage) rmSync(stage, { recursive: true, force: true })
})

test('napi prepublish wrote the platform package into the root optionalDependencies', () => {
  assert.deepEqual(release.published.optionalDependencies, { [platformPackage]: rootManifest.version })
  const installed = JSON.parse(readFileSync(path.join(project, 'node_modules', platformPackage, 'package.json'), 'utf8'))
  assert.equal(installed.version, rootManifest.version)
  assert.ok(existsSync(path.join(project, 'node_modules', platformPackage, installed.main)), 'the platform package carries its binary')
  assert.doesNotMatch(install.stderr, /install.scripts?.*task-guard/i, 'installing task-guard runs no install scripts')
})

describe('installed in a fresh project', () => {
  const inProject = (...parts) => path.join(project, 'node_modules', ...parts)

  for (const { major, node } of nodesToTest()) {
    const env = () => cleanEnv({ PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}` })
    const db = () => path.join(project, `guards-node${major}.db`)

    test(`Node ${major}: import (ESM) from the installed package`, () => {
      const r = json(run(node, ['esm.mjs', db()], { cwd: project }))
      assert.equal(r.resolved, inProject('task-guard', 'index.mjs'))
      assert.equal(r.plugin, inProject('task-guard', 'openclaw', 'index.mjs'))
      assert.equal(r.pluginExists, true)
      assert.deepEqual(r.helpers, [false, true, 'already_running', true])
      // Only the plugin entry needs OpenClaw, which this project does not have.
      assert.equal(r.pluginEntry, "ERR_MODULE_NOT_FOUND: 'openclaw'")
      assert.equal(r.sameAsDefault, true)
      assert.deepEqual(r.answers, ['acquired', 'already_running', true, 'released'])
      assert.equal(r.held.status, 'acquired')
      assert.equal(r.refused, 'ERR_TASK_GUARD_INVALID_ARG')
    })

    test(`Node ${major}: require (CommonJS) from the installed package`, () => {
      const r = json(run(node, ['cjs.cjs'], { cwd: project }))
      assert.equal(r.resolved, inProject('task-guard', 'index.js'))
      assert.deepEqual(r.helpers, { resolved: inProject('task-guard', 'openclaw', 'index.js'), outcome: { status: 'succeeded', value: 'done' }, task: 'deploy' })
      assert.deepEqual(r.answers, ['acquired', 'released', 'awaiting_approval', 'boom', 'approved', 'acquired', 2])
      assert.equal(r.closed, 'ERR_TASK_GUARD_CLOSED')
    })

    test(`Node ${major}: npx task-guard --help, and inspect on the SQLite store`, () => {
      const help = run('npx', ['--no-install', 'task-guard', '--help'], { cwd: project, env: env() })
      assert.match(help.stdout, /^Usage: task-guard <command> \[options\]/)
      assert.match(help.stdout, /inspect\s+list guards/)
      const which = run(node, ['-e', 'console.log(process.version)'], { cwd: project }).stdout.trim()
      assert.equal(which.split('.')[0], `v${major}`)
      const inspected = run('npx', ['--no-install', 'task-guard', 'inspect', '--store', `sqlite:${db()}`, '--json'], { cwd: project, env: env() })
      const { guards, counts } = JSON.parse(inspected.stdout)
      assert.deepEqual(
        guards.map((g) => [g.key, g.state, g.owner]),
        [['install-check::report', 'running', 'esm']],
      )
      assert.deepEqual(counts, { running: 1, stale: 0, failed: 0, approved: 0 })
    })
  }

  test('tsc compiles a CommonJS and an ESM file against the installed types, and they run', () => {
    const tsc = run(process.execPath, [inProject('typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: project, check: false })
    assert.equal(tsc.code, 0, `tsc failed:\n${tsc.stdout}${tsc.stderr}`)
    const cjs = json(run(process.execPath, [path.join('dist', 'app.js')], { cwd: project }))
    assert.deepEqual(cjs, { token: cjs.token, running: 1, value: 42, code: 'ERR_TASK_GUARD_NO_BINARY' })
    assert.equal(typeof cjs.token, 'number')
    const esm = json(run(process.execPath, [path.join('dist', 'app.mjs')], { cwd: project }))
    assert.deepEqual(esm, { answers: ['acquired', 'already_running'], invalid: 'ERR_TASK_GUARD_INVALID_ARG' })
  })
})

describe('installed without its platform package', () => {
  const expectNoBinary = (out) => {
    assert.notEqual(out.code, 0)
    const err = JSON.parse(out.stdout.trim())
    assert.equal(err.code, 'ERR_TASK_GUARD_NO_BINARY')
    assert.equal(err.platform, platform)
    assert.equal(err.package, platformPackage)
    assert.ok(err.message.includes(platform), err.message)
    // Where to run it: the project that holds task-guard (for OpenClaw, its plugin folder under the state dir).
    assert.ok(err.message.includes(`Install it in the project that holds task-guard (${bare}): cd ${JSON.stringify(bare)} && npm install ${platformPackage}@${rootManifest.version}`), err.message)
    assert.equal(err.projectDir, bare)
  }
  const report = 'console.log(JSON.stringify({ code: e.code, platform: e.platform, package: e.package, projectDir: e.projectDir, message: e.message })); process.exitCode = 1'

  test('require names the platform and the package that carries its binary', () => {
    expectNoBinary(run(process.execPath, ['-e', `try { require('task-guard') } catch (e) { ${report} }`], { cwd: bare, check: false }))
  })

  test('import does the same', () => {
    expectNoBinary(
      run(process.execPath, ['--input-type=module', '-e', `try { await import('task-guard') } catch (e) { ${report} }`], { cwd: bare, check: false }),
    )
  })

  test('the CLI still prints its help, and says so in one line when it needs the store', () => {
    const help = run('npx', ['--no-install', 'task-guard', '--help'], { cwd: bare })
    assert.match(help.stdout, /^Usage: task-guard <command> \[options\]/)
    const r = run('npx', ['--no-install', 'task-guard', 'inspect', '--store', `sqlite:${path.join(bare, 'guards.db')}`], { cwd: bare, check: false })
    assert.equal(r.code, 2)
    assert.equal(
      r.stderr.trim().split('\n').at(-1),
      `task-guard: ERR_TASK_GUARD_NO_BINARY: task-guard found no native binary for ${platform}: it ships in the optional dependency ${platformPackage}, ` +
        `which is not installed (installs with --omit=optional, or a lockfile written on another platform, leave it out). ` +
        `Install it in the project that holds task-guard (${bare}): cd ${JSON.stringify(bare)} && npm install ${platformPackage}@${rootManifest.version}`,
    )
    assert.equal(existsSync(path.join(bare, 'guards.db')), false, 'nothing was created')
  })
})
