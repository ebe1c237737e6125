#!/usr/bin/env node
// Runs the OpenClaw integration suite against the real `openclaw` package, pinned in
// host/package-lock.json. OpenClaw needs a newer Node than task-guard does (it states
// >=24.16 and uses Node 22+ APIs), so when this Node is too old the suite runs on a
// Node 24 fetched from the npm registry (see ../node-runtimes.mjs).

import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { NODE_RELEASES, installNode } from '../node-runtimes.mjs'
import { copyPacked } from '../packed-files.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../..')
const hostDir = path.join(here, 'host')
const pinned = JSON.parse(readFileSync(path.join(hostDir, 'package.json'), 'utf8')).dependencies.openclaw

function say(msg) {
  process.stderr.write(`[openclaw suite] ${msg}\n`)
}

function fail(msg) {
  say(msg)
  process.exit(1)
}

/** OpenClaw 2026.9.x states node >=24.16.0 <25 || >=26.1.0. */
function nodeFits(version) {
  const [maj, min] = version.replace(/^v/, '').split('.').map(Number)
  return (maj === 24 && min >= 16) || (maj === 26 && min >= 1) || maj > 26
}

function nodeBinary() {
  if (nodeFits(process.version)) return process.execPath
  say(`Node ${process.version} is older than OpenClaw needs`)
  try {
    return installNode(NODE_RELEASES[24], say)
  } catch (err) {
    fail(`${err.message}; run the suite on Node >= 24.16`)
  }
}

function installHost(node) {
  const installed = path.join(hostDir, 'node_modules', 'openclaw', 'package.json')
  if (existsSync(installed) && JSON.parse(readFileSync(installed, 'utf8')).version === pinned) return
  say(`installing openclaw@${pinned} into ${path.relative(root, hostDir)} (npm ci)`)
  // npm runs under the Node OpenClaw needs, so its install checks see that Node.
  const env = { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}` }
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: hostDir, stdio: 'inherit', env })
}

/** The plugin imports `openclaw/plugin-sdk/*` as a peer; point the repo's node_modules at the host's copy. */
function linkPeer() {
  const link = path.join(root, 'node_modules', 'openclaw')
  const target = path.join(hostDir, 'node_modules', 'openclaw')
  let stat = null
  try {
    stat = lstatSync(link)
  } catch {}
  if (stat && !stat.isSymbolicLink()) {
    const v = JSON.parse(readFileSync(path.join(link, 'package.json'), 'utf8')).version
    if (v !== pinned) fail(`node_modules/openclaw is a real install of ${v}, not the pinned ${pinned}; remove it`)
    return
  }
  if (stat && readlinkSync(link) === target) return
  if (stat) unlinkSync(link)
  symlinkSync(target, link, 'junction')
}

/**
 * The plugin as a user installs it: the files `npm pack` would ship, plus this
 * machine's built addon (which a user gets from the platform package). OpenClaw's
 * loader walks a plugin's folder, so pointing it at the repository (target/, node_modules/) is slow.
 */
function stagePlugin() {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-plugin-'))
  const addons = readdirSync(root).filter((f) => f.endsWith('.node'))
  if (addons.length === 0) fail('no built addon (*.node) in the repository; run npm run build first')
  copyPacked(dir, addons)
  return dir
}

const node = nodeBinary()
installHost(node)
linkPeer()
const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()
say(`openclaw@${pinned} on Node ${version}`)

say('type check: the plugin handlers against OpenClaw’s own declarations')
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(here, 'tsconfig.json')], {
  stdio: 'inherit',
})
if (tsc.status !== 0) process.exit(tsc.status ?? 1)

const files = readdirSync(here)
  .filter((f) => f.endsWith('.openclaw.mjs'))
  .map((f) => path.join(here, f))
const pluginDir = stagePlugin()
const res = spawnSync(node, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TASK_GUARD_PLUGIN_DIR: pluginDir },
})
rmSync(pluginDir, { recursive: true, force: true })
process.exit(res.status ?? 1)
