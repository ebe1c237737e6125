// What the package ships and how it is released: the tarball's file set, the
// per-platform manifests, their versions kept in step by `napi version`, the
// engines claim against the Node versions tested, the release workflow (parsed),
// and the error on a platform with no binary.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseDocument } from 'yaml'
import { NODE_RELEASES, engineMajors } from './node-runtimes.mjs'
import { packedFiles } from './packed-files.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const { parseTriple } = require('@napi-rs/cli')
const { PREBUILT } = require('../lib/platform.js')
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const readJson = (...parts) => JSON.parse(readFileSync(path.join(root, ...parts), 'utf8'))
const tracked = (dir) => execFileSync('git', ['ls-files', dir], { cwd: root, encoding: 'utf8' }).trim().split('\n')
const targets = manifest.napi.targets.map(parseTriple)

test('the tarball holds exactly the loader, types, facade, test clock, CLI, plugin (with its Control UI page), README and LICENSE', () => {
  const expected = [
    'LICENSE',
    'README.md',
    'package.json',
    'index.js',
    'index.mjs',
    'index.d.ts',
    'binding.js',
    'binding.d.ts',
    'testing.js',
    'testing.mjs',
    'testing.d.ts',
    'openclaw.plugin.json',
    ...tracked('lib/'),
    ...tracked('bin/'),
    ...tracked('openclaw/'),
    // The plugin's browser entry: OpenClaw takes it only from a dist/ subdirectory.
    ...tracked('dist/control-ui/'),
  ].sort()
  const files = packedFiles()
  assert.deepEqual(files, expected)
  for (const f of files) assert.doesNotMatch(f, /^(src|__test__|target|bench|examples|npm)\/|\.(node|rs|tgz|db)$|^Cargo/, f)
  // Everything package.json points a user at is in it.
  const plugin = readJson('openclaw.plugin.json')
  const entries = [manifest.main, manifest.types, ...Object.values(manifest.bin), ...manifest.openclaw.extensions, plugin.controlUi.entry, ...plugin.controlUi.styles]
  for (const e of Object.values(manifest.exports)) entries.push(...(typeof e === 'string' ? [e] : Object.values(e)))
  for (const e of entries) assert.ok(files.includes(path.posix.normalize(e)), `${e} is referenced but not shipped`)
})

test('every napi target has an npm/<platform> manifest with its os, cpu and libc, in step with the root', () => {
  for (const required of [
    'x86_64-unknown-linux-gnu',
    'aarch64-unknown-linux-gnu',
    'x86_64-unknown-linux-musl',
    'aarch64-unknown-linux-musl',
    'x86_64-apple-darwin',
    'aarch64-apple-darwin',
    'x86_64-pc-windows-msvc',
    'aarch64-pc-windows-msvc',
  ]) {
    assert.ok(manifest.napi.targets.includes(required), `${required} is a target`)
  }
  const names = targets.map((t) => t.platformArchABI).sort()
  assert.deepEqual(readdirSync(path.join(root, 'npm')).sort(), names, 'one npm/ folder per target, no others')
  assert.deepEqual([...PREBUILT].sort(), names, 'lib/platform.js lists the same platforms')
  for (const t of targets) {
    const m = readJson('npm', t.platformArchABI, 'package.json')
    const binary = `${manifest.napi.binaryName}.${t.platformArchABI}.node`
    assert.equal(m.name, `${manifest.name}-${t.platformArchABI}`)
    assert.equal(m.version, manifest.version)
    assert.deepEqual(m.os, [t.platform])
    assert.deepEqual(m.cpu, [t.arch])
    if (t.platform === 'linux') assert.deepEqual(m.libc, [t.abi === 'musl' ? 'musl' : 'glibc'])
    else assert.equal(m.libc, undefined)
    assert.equal(m.main, binary)
    assert.deepEqual(m.files, [binary])
    assert.deepEqual(m.engines, manifest.engines)
    assert.equal(m.license, manifest.license)
    assert.equal(m.scripts, undefined, 'platform packages run nothing on install')
  }
  // optionalDependencies are written at publish time by `napi prepublish` (the install test runs it).
  assert.equal(manifest.optionalDependencies, undefined)
})

test('npm version bumps every platform manifest through napi version', () => {
  assert.match(manifest.scripts.version, /^napi version && /)
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-version-'))
  try {
    cpSync(path.join(root, 'npm'), path.join(dir, 'npm'), { recursive: true })
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...manifest, version: '9.8.7-rc.1' }))
    execFileSync(process.execPath, [path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js'), 'version'], { cwd: dir, stdio: 'ignore' })
    for (const t of targets) {
      assert.equal(JSON.parse(readFileSync(path.join(dir, 'npm', t.platformArchABI, 'package.json'), 'utf8')).version, '9.8.7-rc.1')
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the committed loader was generated for this version', () => {
  const loader = readFileSync(path.join(root, 'binding.js'), 'utf8')
  const versions = new Set([...loader.matchAll(/expected (\S+) but got/g)].map((m) => m[1]))
  assert.deepEqual([...versions], [manifest.version], 'npm version rebuilds binding.js; commit it with the bump')
})

test('engines.node names exactly the Node majors the tests and the workflow run', () => {
  const majors = engineMajors()
  assert.deepEqual(majors, [20, 22, 24, 26])
  assert.deepEqual(Object.keys(NODE_RELEASES).map(Number), majors, 'the install test runs every claimed major')
  const wf = workflow()
  assert.deepEqual(wf.jobs.test.strategy.matrix.node, majors)
  assert.deepEqual(wf.jobs.install.strategy.matrix.node, majors)
  assert.deepEqual(wf.jobs['install-musl'].strategy.matrix.node, majors)
})

function workflow() {
  const file = path.join(root, '.github', 'workflows', 'CI.yml')
  const doc = parseDocument(readFileSync(file, 'utf8'), { uniqueKeys: true, prettyErrors: true })
  assert.deepEqual(doc.errors.map(String), [], 'CI.yml parses')
  assert.deepEqual(doc.warnings.map(String), [])
  return doc.toJS()
}

test('the release workflow parses, builds every target, tests, and publishes with provenance on a version commit', () => {
  assert.deepEqual(readdirSync(path.join(root, '.github', 'workflows')), ['CI.yml'])
  const wf = workflow()
  const { build, install, publish } = wf.jobs
  const built = build.strategy.matrix.settings.map((s) => s.target)
  assert.deepEqual([...built].sort(), [...manifest.napi.targets].sort(), 'a build per napi target')
  // Hosts differ from targets where a runner of the target's own kind is not used.
  for (const s of build.strategy.matrix.settings) {
    const t = parseTriple(s.target)
    if (t.platform === 'linux') assert.ok(s.cross === (t.abi === 'musl' ? '--cross-compile' : '--use-napi-cross'), `${s.target} is cross-built`)
  }
  assert.ok(build.steps.some((s) => String(s.run).includes('--target ${{ matrix.settings.target }} ${{ matrix.settings.cross }}')))
  assert.ok(build.steps.some((s) => s.uses?.startsWith('actions/upload-artifact@') && s.with.name === 'bindings-${{ matrix.settings.target }}'))
  const glibcAndOthers = install.strategy.matrix.settings.map((s) => s.target)
  const musl = wf.jobs['install-musl'].strategy.matrix.settings.map((s) => s.target)
  assert.deepEqual([...glibcAndOthers, ...musl].sort(), [...manifest.napi.targets].sort(), 'every binary is installed and used on its platform')
  for (const job of ['install', 'install-musl']) {
    assert.ok(JSON.stringify(wf.jobs[job].steps).includes('npm run test:install'), `${job} runs the install test`)
  }
  assert.ok(wf.jobs.test.steps.some((s) => s.run === 'bash .ci/run'), 'the gate runs on each Node major')

  assert.deepEqual(publish.needs, ['build', 'test', 'install', 'install-musl'])
  assert.equal(publish.if, "${{ github.event_name == 'push' && github.ref == 'refs/heads/main' }}")
  assert.equal(publish.permissions['id-token'], 'write', 'provenance needs an OIDC token')
  assert.equal(wf.permissions.contents, 'read')
  const script = publish.steps.map((s) => s.run ?? '').join('\n')
  assert.match(script, /git log -1 --format=%s\)" = "\$version"/, 'only a version commit publishes')
  assert.match(script, /npm run artifacts -- --output-dir artifacts/)
  assert.match(script, /npx napi prepublish -t npm --no-gh-release\n\s*npm publish --provenance/)
  const env = publish.steps.find((s) => s.env?.NPM_CONFIG_PROVENANCE).env
  assert.equal(env.NPM_CONFIG_PROVENANCE, 'true')
  for (const job of Object.values(wf.jobs)) {
    for (const s of job.steps) if (s.uses) assert.match(s.uses, /^[\w.-]+\/[\w.-]+@(v\d+|stable)$/, `${s.uses} is pinned to a release`)
  }
})

test('a LICENSE, and a CHANGELOG with this version', () => {
  assert.equal(manifest.license, 'MIT')
  assert.match(readFileSync(path.join(root, 'LICENSE'), 'utf8'), /^MIT License\n/)
  assert.match(readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8'), new RegExp(`^## \\[${manifest.version.replaceAll('.', '\\.')}\\]`, 'm'))
})

test('on a platform with no prebuilt binary, import fails naming the platform and the package', () => {
  const fake = path.join(mkdtempSync(path.join(tmpdir(), 'tg-arch-')), 'fake-arch.cjs')
  writeFileSync(fake, "Object.defineProperty(process, 'arch', { value: 'riscv64' })\n")
  const r = spawnSync(
    process.execPath,
    ['-r', fake, '-e', "try { require('./index.js') } catch (e) { console.log(JSON.stringify({ code: e.code, platform: e.platform, package: e.package, message: e.message, cause: Boolean(e.cause) })) }"],
    { cwd: root, encoding: 'utf8' },
  )
  const libc = process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'
  const platform = process.platform === 'linux' ? `linux-riscv64-${libc}` : process.platform === 'win32' ? 'win32-riscv64-msvc' : `${process.platform}-riscv64`
  const err = JSON.parse(r.stdout)
  assert.equal(err.code, 'ERR_TASK_GUARD_NO_BINARY')
  assert.equal(err.platform, platform)
  assert.equal(err.package, `task-guard-${platform}`)
  assert.equal(err.cause, true, 'the loader’s own errors are kept as the cause')
  assert.equal(
    err.message,
    `task-guard has no prebuilt binary for ${platform} (there is no package task-guard-${platform}). ` +
      `Prebuilt: ${PREBUILT.join(', ')}. Elsewhere, build it from a checkout with a Rust toolchain: npm ci && npm run build.`,
  )
  rmSync(path.dirname(fake), { recursive: true, force: true })
})
