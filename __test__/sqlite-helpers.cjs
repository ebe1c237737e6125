'use strict'
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, execFileSync } = require('node:child_process')

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'task-guard-test-'))
}

/** Runs a fixture script to completion; resolves with its stdout. */
/** Runs a fixture script; `env` is added to this process's environment. */
function runFixture(name, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', name), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${name} exited ${code}: ${err}`))))
  })
}

/** Runs SQL through Python's sqlite3 (a second, independent SQLite) and returns rows as JSON. */
function sql(file, statements) {
  const script = `import sqlite3, json, sys
c = sqlite3.connect(sys.argv[1])
rows = []
for s in sys.argv[2:]:
    rows = c.execute(s).fetchall()
c.commit()
print(json.dumps(rows))`
  return JSON.parse(execFileSync('python3', ['-c', script, file, ...statements], { encoding: 'utf8' }))
}

function snapshotDir(dir) {
  return fs
    .readdirSync(dir)
    .sort()
    .map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')])
}

module.exports = { tempDir, runFixture, sql, snapshotDir }
