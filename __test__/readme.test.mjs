// Every fenced block of README.md runs here, as a reader would use it:
//   js / ts    in a temporary project where `task-guard` is this repository
//              (node_modules/task-guard is a symlink), TS compiled first with
//              the repository's typescript (strict, NodeNext, @types/node);
//              a fragment with no import gets `import { TaskGuard, taskKey, codes }`;
//              a Jest test (expect + test/it/describe) runs under the repository's jest;
//   sh         with bash -e in a directory of its own, `task-guard` and `npx task-guard` on PATH;
//   console    a transcript: each `$ command` runs in one shell, its output is compared
//              line by line (ids, times, durations, host:pid and column padding may differ),
//              `(exit N)` is the expected exit code; "after `npm run demo`" runs the demo first;
//   json/yaml  parsed;
//   text       (untagged) prose, diagrams and sample output: nothing to run, but it must not
//              look like code or a command, which would need its language.
// A block that cannot run says why inside it, as a comment: `// not run: <why>`
// or `# not run: <why>`. Each block is one test, named by its line and section.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import {
  extractBlocks, notRunReason, moduleKind, isJestTest, looksLikeCode, UNSAFE_SH, parseTranscript, lineMatcher,
} from './readme-blocks.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const README = path.join(ROOT, 'README.md')
const blocks = extractBlocks(fs.readFileSync(README, 'utf8'))
const PRELUDE = "import { TaskGuard, taskKey, codes } from 'task-guard'\n"
const TIMEOUT = 20_000

let project
const env = () => {
  const e = { ...process.env, PATH: `${path.join(project, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`, npm_config_offline: 'true', npm_config_update_notifier: 'false' }
  delete e.TASK_GUARD_STORE
  delete e.NODE_OPTIONS
  delete e.NODE_TEST_CONTEXT
  return e
}

/** A project a user would have: task-guard (this repository) installed, its bin linked, @types/node. */
before(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'task-guard-readme-'))
  fs.mkdirSync(path.join(project, 'node_modules', '.bin'), { recursive: true })
  fs.symlinkSync(ROOT, path.join(project, 'node_modules', 'task-guard'), 'dir')
  // What a project testing with TypeScript or Jest has installed (from this repository's devDependencies).
  for (const dev of ['@types', '@jest', 'jest', 'ts-jest', 'typescript']) {
    if (fs.existsSync(path.join(ROOT, 'node_modules', dev))) fs.symlinkSync(path.join(ROOT, 'node_modules', dev), path.join(project, 'node_modules', dev), 'dir')
  }
  fs.symlinkSync(path.join('..', 'task-guard', 'bin', 'task-guard.js'), path.join(project, 'node_modules', '.bin', 'task-guard'))
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'readme-check', private: true, type: 'module' }))
})
after(() => fs.rmSync(project, { recursive: true, force: true }))

const name = (b) => `README.md:${b.line} (${b.lang || 'untagged'}, ${b.section || 'top'})`

/** A fresh working directory inside the project, for one block. */
function workdir(b) {
  const dir = path.join(project, `block-${b.line}`)
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

function run(command, args, options) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: TIMEOUT, env: env(), ...options })
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`
  if (r.error?.code === 'ETIMEDOUT') assert.fail(`timed out after ${TIMEOUT / 1000}s (a block that needs a server says \`// not run: …\`)\n${out}`)
  return { ...r, out }
}

function assertRan(b, r) {
  assert.equal(r.status, 0, `${name(b)} exited ${r.status ?? r.signal}:\n${r.out}\n--- the block as run ---\n${b.source ?? b.code}`)
}

/** The file a JS or TS block runs as. */
function source(b) {
  const kind = moduleKind(b.code)
  b.source = kind === 'none' ? PRELUDE + b.code : b.code
  return kind
}

function runJs(b) {
  const dir = workdir(b)
  const kind = source(b)
  const file = path.join(dir, kind === 'cjs' || b.lang === 'cjs' ? 'block.cjs' : 'block.mjs')
  fs.writeFileSync(file, b.source)
  assertRan(b, run(process.execPath, [file], { cwd: dir }))
}

/** TS blocks compile together (one tsc, a module each), then each runs. */
let compiled
function compileTs() {
  if (compiled) return compiled
  const dir = path.join(project, 'ts')
  fs.mkdirSync(dir, { recursive: true })
  const files = []
  for (const b of blocks.filter((x) => x.kind === 'ts' && !notRunReason(x) && !isJestTest(x.code))) {
    source(b)
    const file = `block-${b.line}.${b.lang === 'cts' ? 'cts' : 'mts'}`
    fs.writeFileSync(path.join(dir, file), `${b.source}\nexport {}\n`)
    files.push(file)
  }
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext',
      types: ['node'], outDir: 'out', skipLibCheck: false,
    },
    files,
  }))
  const r = files.length ? run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, timeout: 60_000 }) : { status: 0, out: '' }
  compiled = { dir, status: r.status, out: r.out }
  return compiled
}

function runTs(b) {
  const { dir, status, out } = compileTs()
  const mine = out.split('\n').filter((l) => l.startsWith(`block-${b.line}.`))
  assert.equal(mine.length, 0, `${name(b)} does not compile:\n${mine.join('\n')}\n--- the block as compiled ---\n${b.source}`)
  const others = out.split('\n').filter((l) => /error TS\d+/.test(l) && !/^block-\d+\./.test(l))
  assert.ok(status === 0 || !others.length, `tsc failed:\n${out}`)
  const js = path.join(dir, 'out', `block-${b.line}.${b.lang === 'cts' ? 'cjs' : 'mjs'}`)
  assertRan(b, run(process.execPath, [js], { cwd: workdir(b) }))
}

function runJest(b) {
  const dir = workdir(b)
  source(b)
  const ts = b.kind === 'ts'
  if (ts && !fs.existsSync(path.join(ROOT, 'node_modules', 'ts-jest'))) assert.fail(`${name(b)}: a TypeScript Jest block needs ts-jest installed`)
  const esm = moduleKind(b.code) !== 'cjs'
  const file = path.join(dir, `block.test.${ts ? 'ts' : esm ? 'mjs' : 'cjs'}`)
  fs.writeFileSync(file, b.source)
  const config = {
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/block.test.*'],
    transform: ts ? { '^.+\\.ts$': [path.join(ROOT, 'node_modules', 'ts-jest'), { tsconfig: { strict: true, module: 'commonjs', target: 'ES2022', esModuleInterop: true, types: fs.existsSync(path.join(ROOT, 'node_modules', '@types', 'jest')) ? ['node', 'jest'] : ['node'] }, diagnostics: true }] } : {},
    cache: false,
  }
  fs.writeFileSync(path.join(dir, 'jest.config.json'), JSON.stringify(config))
  const args = [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', path.join(dir, 'jest.config.json'), '--ci']
  const r = run(process.execPath, esm && !ts ? ['--experimental-vm-modules', ...args] : args, { cwd: dir, timeout: 60_000 })
  assertRan(b, r)
}

function runSh(b) {
  const unsafe = UNSAFE_SH.exec(b.code)
  assert.equal(unsafe, null, `${name(b)} runs \`${unsafe?.[0]}\`: say why it is not run in a \`# not run: …\` comment inside the block`)
  const dir = workdir(b)
  fs.writeFileSync(path.join(dir, 'block.sh'), b.code)
  assertRan(b, run('bash', ['-e', '-o', 'pipefail', 'block.sh'], { cwd: dir }))
}

/** Preconditions a transcript names in the sentence before it. */
function setUp(b, dir) {
  if (/`npm run demo`/.test(b.before)) {
    // The demo itself, without `npm run demo`'s rebuild of the addon; it writes ./task-guard-demo.db.
    const r = run(process.execPath, [path.join(ROOT, 'examples', 'demo.mjs')], { cwd: dir })
    assert.equal(r.status, 0, `the demo failed:\n${r.out}`)
  }
}

function runTranscript(b) {
  const unsafe = UNSAFE_SH.exec(b.code)
  assert.equal(unsafe, null, `${name(b)} runs \`${unsafe?.[0]}\`: say why it is not run in a \`# not run: …\` comment inside the block`)
  const dir = workdir(b)
  setUp(b, dir)
  const steps = parseTranscript(b.code)
  assert.ok(steps.length > 0, `${name(b)}: no "$ " commands`)
  const mark = `@@readme-${process.pid}`
  const script = steps.map((s, i) => `echo "${mark} ${i}"\n${s.command} 2>&1\necho "${mark} exit $?"`).join('\n')
  fs.writeFileSync(path.join(dir, 'transcript.sh'), `${script}\n`)
  const r = run('bash', ['transcript.sh'], { cwd: dir })
  assert.equal(r.status, 0, r.out)
  const got = r.stdout.split(`${mark} `).slice(1)
  assert.equal(got.length, steps.length * 2, `the transcript stopped early:\n${r.out}`)
  steps.forEach((s, i) => {
    const output = got[2 * i].split('\n').slice(1).map((l) => l.trimEnd())
    while (output.length && output[output.length - 1] === '') output.pop()
    const code = Number(/^exit (\d+)/.exec(got[2 * i + 1])[1])
    const where = `${name(b)}: $ ${s.command}`
    assert.equal(code, s.exit, `${where}: exit ${code}, the README says ${s.exit}\n${output.join('\n')}`)
    assert.equal(output.length, s.output.length, `${where}: ${output.length} lines of output, the README shows ${s.output.length}:\n${output.join('\n')}`)
    s.output.forEach((expected, k) => {
      assert.match(output[k], lineMatcher(expected), `${where}: line ${k + 1} differs from the README:\n  README: ${expected}\n  actual: ${output[k]}`)
    })
  })
}

const RUNNERS = {
  js: (b) => (isJestTest(b.code) ? runJest(b) : runJs(b)),
  ts: (b) => (isJestTest(b.code) ? runJest(b) : runTs(b)),
  sh: runSh,
  console: runTranscript,
  json: (b) => assert.doesNotThrow(() => JSON.parse(b.code), `${name(b)} is not valid JSON`),
  yaml: (b) => assert.doesNotThrow(() => YAML.parse(b.code), `${name(b)} is not valid YAML`),
  text: (b) => assert.ok(!looksLikeCode(b.code), `${name(b)} is untagged but looks like code or a command: give it its language (\`\`\`js, \`\`\`sh, \`\`\`console …)`),
  unknown: (b) => assert.fail(`${name(b)}: no runner for \`\`\`${b.lang}; add one to __test__/readme.test.mjs, or tag it text`),
}

test('README.md has code blocks, and its Quick start is run as written', () => {
  assert.ok(blocks.length > 5, `found ${blocks.length} blocks`)
  const quick = blocks.filter((b) => b.section === 'Quick start' && b.kind !== 'text')
  assert.ok(quick.length > 0, 'a Quick start code block')
  for (const b of quick) {
    assert.equal(notRunReason(b), null, `the Quick start (README.md:${b.line}) must run`)
    assert.notEqual(moduleKind(b.code), 'none', `the Quick start (README.md:${b.line}) imports what it uses`)
  }
})

for (const b of blocks) {
  const reason = notRunReason(b)
  test(name(b), { timeout: 90_000 }, (t) => {
    if (reason) {
      assert.notEqual(b.kind, 'text', `${name(b)}: a text block has nothing to run`)
      assert.match(reason, /\w{3,}/, `${name(b)}: say why it is not run`)
      t.diagnostic(`not run: ${reason}`)
      return
    }
    RUNNERS[b.kind](b)
  })
}

test('the Operator CLI synopsis matches the CLI\'s own --help', () => {
  const synopsis = blocks.find((b) => b.section === 'Operator CLI' && b.kind === 'text' && /^task-guard /m.test(b.code))
  assert.ok(synopsis, 'the synopsis block of "Operator CLI"')
  const bin = path.join(ROOT, 'bin', 'task-guard.js')
  for (const line of synopsis.code.split('\n').filter((l) => l.trim())) {
    const command = /^task-guard (\w+)/.exec(line)?.[1]
    const help = spawnSync(process.execPath, [bin, ...(command && command !== 'command' ? [command, '--help'] : ['--help'])], { encoding: 'utf8', timeout: TIMEOUT })
    assert.equal(help.status, 0, help.stderr)
    const usage = help.stdout.split('\n').filter((l) => /^(Usage:)?\s+task-guard /.test(l) || l.startsWith('Usage: task-guard')).map((l) => l.replace(/^(Usage:)?\s*/, ''))
    if (line.includes('<command> --help')) continue
    assert.ok(usage.includes(line.trim()), `"${line.trim()}" is not in task-guard ${command ?? ''} --help:\n${usage.join('\n')}`)
  }
})
