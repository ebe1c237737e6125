#!/usr/bin/env node
// Runs the gateway suite: a real OpenClaw gateway (`openclaw gateway run`) with
// task-guard installed the way an operator installs it, from the release tarballs.
//
//   node __test__/gateway/run.mjs [name-filter ...]
//
// 1. a Node that OpenClaw accepts (>= 24.16): this one, or Node 24 from the npm registry;
// 2. openclaw@<pinned> installed with `npm install -g --prefix` under __test__/.runtime/;
// 3. the release tarballs (task-guard and this platform's package), staged and packed;
// 4. a loopback npm registry serving only them; `openclaw plugins install` reads it;
// 5. `node --test --test-concurrency=1` on the *.gateway.mjs files (or those whose
//    name contains one of the filters), one gateway per file.
// TASK_GUARD_GATEWAY_KEEP=1 keeps each gateway's directory (config, logs, state, mock-calls.json).

import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { NODE_RELEASES, installNode } from '../node-runtimes.mjs'
import { stageRelease } from '../release-tarballs.mjs'
import { OPENCLAW_VERSION, installOpenClaw, nodeFitsOpenClaw } from './openclaw-gateway.mjs'
import { startRegistry } from './registry.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../..')
const say = (msg) => process.stderr.write(`[gateway suite] ${msg}\n`)
const t0 = Date.now()
const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`

const node = nodeFitsOpenClaw() ? process.execPath : (say(`Node ${process.version} is older than OpenClaw needs`), installNode(NODE_RELEASES[24], say))
const openclaw = installOpenClaw(node, say)
say(`openclaw@${OPENCLAW_VERSION} on ${node} (${since()})`)

const stage = mkdtempSync(path.join(tmpdir(), 'tg-gateway-release-'))
let registry
let code = 1
try {
  const release = stageRelease(stage)
  say(`release tarballs: ${path.basename(release.rootTgz)}, ${path.basename(release.platformTgz)} (${since()})`)
  registry = await startRegistry([release.rootTgz, release.platformTgz])

  const filters = process.argv.slice(2)
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.gateway.mjs') && (filters.length === 0 || filters.some((x) => f.includes(x))))
    .sort()
    .map((f) => path.join(here, f))
  if (files.length === 0) throw new Error(`no *.gateway.mjs file matches ${filters.join(', ')}`)

  // Not spawnSync: the registry answers from this process while the suite runs.
  const child = spawn(node, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TASK_GUARD_GATEWAY_REGISTRY: registry.url, TASK_GUARD_OPENCLAW: openclaw },
  })
  const forward = (sig) => child.kill(sig)
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))))
} catch (err) {
  say(err.stack ?? String(err))
} finally {
  await registry?.close()
  rmSync(stage, { recursive: true, force: true })
  say(`done in ${since()} (exit ${code})`)
}
process.exit(code)
