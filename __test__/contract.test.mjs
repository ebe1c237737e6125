// lib/contract.json is the one list of error codes, options and defaults: the
// facade reads it, the Rust side takes its codes from it (and its tests hold the
// engine's defaults to it), and here the published types and the README's option
// table are held to it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { TaskGuard, codes } from '../index.mjs'

const read = (f) => fs.readFileSync(new URL(`../${f}`, import.meta.url), 'utf8')
const contract = JSON.parse(read('lib/contract.json'))
const types = read('index.d.ts')

/** The interface's properties (with those of what it extends), each with its doc comment. */
function properties(name) {
  const m = types.match(new RegExp(`export interface ${name}(?: extends ([\\w, ]+))? \\{\\n([\\s\\S]*?)\\n\\}`))
  assert.ok(m, `index.d.ts has no interface ${name}`)
  const own = new Map()
  let doc = ''
  for (const line of m[2].split('\n')) {
    if (/^ {2}\/\*\*/.test(line) || /^ {3}\*/.test(line)) doc += `${line}\n`
    const p = line.match(/^ {2}(\w+)\??:/)
    if (p) {
      own.set(p[1], doc)
      doc = ''
    }
  }
  const inherited = (m[1] ?? '').split(',').map((s) => s.trim()).filter((s) => s.endsWith('Options'))
  return new Map([...inherited.flatMap((parent) => [...properties(parent)]), ...own])
}

const INTERFACES = {
  open: 'TaskGuardOptions',
  tls: 'TlsOptions',
  acquire: 'AcquireOptions',
  release: 'ReleaseOptions',
  heartbeat: 'HeartbeatOptions',
  approveRetry: 'ApproveRetryOptions',
  forceRelease: 'ForceReleaseOptions',
  inspect: 'InspectOptions',
  guards: 'GuardsOptions',
  outcome: 'OutcomeOptions',
  run: 'RunOptions',
}

test('the exported codes, and the codes index.d.ts declares, are the contract\'s', () => {
  const want = Object.fromEntries(Object.entries(contract.codes).map(([name, c]) => [name, c.code]))
  assert.deepEqual({ ...codes }, want)
  const block = types.match(/export declare const codes: Readonly<\{([\s\S]*?)\}>/)[1]
  const declared = Object.fromEntries([...block.matchAll(/^ {2}(\w+): '([A-Z_]+)'/gm)].map((m) => [m[1], m[2]]))
  assert.deepEqual(declared, want)
})

test('every options type in index.d.ts names exactly the contract\'s options', () => {
  assert.deepEqual(Object.keys(INTERFACES).sort(), Object.keys(contract.options).sort())
  for (const [kind, iface] of Object.entries(INTERFACES)) {
    assert.deepEqual([...properties(iface).keys()].sort(), Object.keys(contract.options[kind]).sort(), `${kind} (${iface})`)
  }
})

test('every numeric default and limit is the one index.d.ts documents', () => {
  const digits = (s) => s.replace(/(\d)[_,](?=\d)/g, '$1')
  for (const [kind, iface] of Object.entries(INTERFACES)) {
    const docs = properties(iface)
    for (const [name, spec] of Object.entries(contract.options[kind])) {
      const doc = digits(docs.get(name))
      for (const what of ['default', 'max']) {
        if (typeof spec[what] !== 'number') continue
        // A max that is the general duration limit is documented once, not per option.
        if (what === 'max' && spec.max === 2147483647) continue
        assert.match(doc, new RegExp(`\\b${spec[what]}\\b`), `${kind}.${name}: index.d.ts does not document its ${what} ${spec[what]}`)
      }
    }
  }
})

test('the README\'s option table lists the open options with the contract\'s defaults', () => {
  const table = read('README.md').split('### `new TaskGuard(options?)`')[1].split('\n\n')[1]
  const rows = table.split('\n').slice(2).map((r) => r.split('|').map((c) => c.trim()))
  const listed = Object.fromEntries(rows.map((c) => [c[1].replace(/`/g, ''), c[2]]))
  assert.deepEqual(Object.keys(listed).sort(), Object.keys(contract.options.open).sort())
  for (const [name, spec] of Object.entries(contract.options.open)) {
    if (spec.default === undefined) continue
    const shown = typeof spec.default === 'string' ? `\`'${spec.default}'\`` : typeof spec.default === 'boolean' ? `\`${spec.default}\`` : String(spec.default)
    assert.ok(listed[name].startsWith(shown), `README: ${name} defaults to ${listed[name]}, the contract says ${shown}`)
  }
})

test('the facade refuses an option the contract does not name, for every kind it checks', async () => {
  const g = new TaskGuard()
  const refused = { code: 'ERR_TASK_GUARD_INVALID_ARG', message: /unknown option "bogus"/ }
  assert.throws(() => new TaskGuard({ bogus: 1 }), refused)
  await assert.rejects(g.acquire('k', { bogus: 1 }), refused)
  const r = await g.acquire('k')
  await assert.rejects(g.heartbeat('k', r.runId, { bogus: 1 }), refused)
  await assert.rejects(g.release('k', r.runId, 'succeeded', { bogus: 1 }), refused)
  await assert.rejects(g.approveRetry('k', { bogus: 1 }), refused)
  await assert.rejects(g.forceRelease('k', { bogus: 1 }), refused)
  await assert.rejects(g.inspect({ bogus: 1 }), refused)
  assert.throws(() => g.guards({ bogus: 1 }), refused)
  await assert.rejects(g.run('k', async () => {}, { bogus: 1 }), refused)
  assert.throws(() => new TaskGuard({ tls: { bogus: 1 } }), { code: 'ERR_TASK_GUARD_INVALID_ARG', message: /unknown option "bogus"/ })
  await g.close()
})
