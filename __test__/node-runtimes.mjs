// Node.js releases the tests run on besides the one running them: one per major
// that package.json's engines claims, from the npm registry's node-<os>-<arch>
// packages (the registry is the one network the CI machine has), kept in
// __test__/.runtime/ between runs.

import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '..')
const { currentPlatform } = createRequire(import.meta.url)('../lib/platform.js')

/** The newest release of each major in engines.node when this list was last updated. */
export const NODE_RELEASES = Object.freeze({ 20: '20.20.2', 22: '22.23.3', 24: '24.21.0', 26: '26.10.0' })

/** The majors engines.node names, e.g. `^20.0.0 || ^22.0.0` → [20, 22]. */
export function engineMajors() {
  const range = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node
  return range.split('||').map((part) => {
    const m = /^\s*\^(\d+)\.0\.0\s*$/.exec(part)
    if (!m) throw new Error(`engines.node part "${part}" is not of the form ^N.0.0`)
    return Number(m[1])
  })
}

/** The registry package that carries Node binaries for this machine, or null. */
function registryPackage() {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'win' }[process.platform]
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch]
  // The registry's Linux builds link glibc; they do not run on musl.
  const musl = currentPlatform().endsWith('-musl')
  return os && arch && !musl ? `node-${os}-${arch}` : null
}

/** The path of a `node` of this exact version, installing it from the registry if needed. */
export function installNode(version, log = (msg) => process.stderr.write(`${msg}\n`)) {
  if (process.version === `v${version}`) return process.execPath
  const pkg = registryPackage()
  if (!pkg) throw new Error(`no Node ${version} package for ${process.platform}-${process.arch} on the npm registry`)
  const dir = path.join(here, '.runtime', `node-${version}`)
  const bin = path.join(dir, 'node_modules', pkg, 'bin', process.platform === 'win32' ? 'node.exe' : 'node')
  if (!existsSync(bin)) {
    log(`installing ${pkg}@${version} from the npm registry into ${path.relative(root, dir)}`)
    mkdirSync(dir, { recursive: true })
    execFileSync('npm', ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `${pkg}@${version}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  }
  return bin
}

/**
 * A `node` per claimed major: this one for its own major, the others from the registry.
 * TASK_GUARD_NODE_MAJORS=current keeps to this Node (the release workflow's test matrix
 * runs each major on its own runner).
 */
export function nodesToTest() {
  const mine = Number(process.versions.node.split('.')[0])
  if (process.env.TASK_GUARD_NODE_MAJORS === 'current') return [{ major: mine, node: process.execPath }]
  return engineMajors().map((major) => {
    if (major === mine) return { major, node: process.execPath }
    const version = NODE_RELEASES[major]
    if (!version) throw new Error(`engines.node claims Node ${major}; add its release to NODE_RELEASES in __test__/node-runtimes.mjs`)
    return { major, node: installNode(version) }
  })
}
