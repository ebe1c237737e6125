// The package as the release workflow publishes it, for tests that install it the
// way a user does (install, OpenClaw gateway): a staged copy goes through the publish
// steps (`napi artifacts`, then `napi prepublish`, which writes the root's
// optionalDependencies), narrowed to the one binary this machine builds, and
// `npm pack` packs the root package and this platform's package.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { copyPacked } from './packed-files.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const { parseTriple } = require('@napi-rs/cli')
const { currentPlatform } = require('../lib/platform.js')
const rootManifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const NAPI_CLI = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')

/** The environment of a shell outside this repository: nothing of its npm run. */
export function cleanEnv(extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_/i.test(k) || /^npm_config_(local_prefix|prefix)$/i.test(k)) continue
    if (k === 'NODE_PATH' || k === 'INIT_CWD' || k === 'TASK_GUARD_STORE') continue
    env[k] = v
  }
  return { ...env, ...extra }
}

/** Runs `cmd` to its end; `check` throws on a non-zero exit with its output. */
export function run(cmd, args, { cwd, env, check = true } = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    env: env ?? cleanEnv(),
    encoding: 'utf8',
    shell: process.platform === 'win32' && !path.isAbsolute(cmd),
    timeout: 300_000,
  })
  const out = { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error }
  if (check && out.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${out.code}\n${out.stdout}\n${out.stderr}\n${r.error ?? ''}`)
  }
  return out
}

const napi = (args, cwd) => run(process.execPath, [NAPI_CLI, ...args], { cwd })

/**
 * Stages and packs a release into `stage` (an empty directory). Returns the published
 * root manifest and the paths of the root and platform tarballs.
 */
export function stageRelease(stage) {
  const platform = currentPlatform()
  const triple = rootManifest.napi.targets.find((t) => parseTriple(t).platformArchABI === platform)
  assert.ok(triple, `this machine (${platform}) is not one of package.json's napi.targets`)
  const addon = `${rootManifest.napi.binaryName}.${platform}.node`
  assert.ok(existsSync(path.join(root, addon)), `no built addon ${addon} in the repository; run npm run build`)

  const pkg = path.join(stage, 'pkg')
  copyPacked(pkg)
  cpSync(path.join(root, 'npm', platform), path.join(pkg, 'npm', platform), { recursive: true })
  mkdirSync(path.join(stage, 'artifacts'))
  copyFileSync(path.join(root, addon), path.join(stage, 'artifacts', addon))
  writeFileSync(path.join(stage, 'napi.json'), JSON.stringify({ binaryName: rootManifest.napi.binaryName, targets: [triple] }))

  napi(['artifacts', '--output-dir', '../artifacts', '--npm-dir', 'npm', '-c', '../napi.json'], pkg)
  napi(['prepublish', '-t', 'npm', '--skip-optional-publish', '--no-gh-release', '-c', '../napi.json'], pkg)

  const pack = (dir) => JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', stage], { cwd: dir }).stdout)[0].filename
  return {
    published: JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')),
    rootTgz: path.join(stage, pack(pkg)),
    platformTgz: path.join(stage, pack(path.join(pkg, 'npm', platform))),
  }
}
