// Run in the installed project: `import` through the package's ESM entry, the memory
// store and a SQLite file (left with one running guard for the CLI to find).
import { TaskGuard, taskKey, codes } from 'task-guard'
import { guardTrigger } from 'task-guard/openclaw'
import defaultExport from 'task-guard'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const [db] = process.argv.slice(2)
const key = taskKey('install-check', 'report')
const memory = new TaskGuard()
const first = await memory.acquire(key, { owner: 'esm' })
const second = await memory.acquire(key, { owner: 'esm-2' })
const released = await memory.release(key, first.runId, 'succeeded')
await memory.close()

const durable = await TaskGuard.open({ store: `sqlite:${db}` })
const held = await durable.acquire(key, { owner: 'esm', ttlMs: 3_600_000 })
await durable.close()

let refused = null
try {
  taskKey('', 'report')
} catch (err) {
  refused = err.code
}
// The OpenClaw helpers need no OpenClaw (this project has none); the plugin entry does.
const helperGuard = new TaskGuard()
const triggered = await guardTrigger(helperGuard, { sessionKey: 'agent:main:x', task: 'deploy' }, () => new Promise(() => {}))
const duplicate = await guardTrigger(helperGuard, { sessionKey: 'agent:main:x', task: 'deploy' }, () => 'never')
let pluginEntry = null
try {
  await import('task-guard/openclaw/plugin')
  pluginEntry = 'loaded'
} catch (err) {
  pluginEntry = `${err.code}: ${/'openclaw[^']*'/.exec(err.message)?.[0]}`
}
const plugin = fileURLToPath(import.meta.resolve('task-guard/openclaw'))
console.log(
  JSON.stringify({
    resolved: fileURLToPath(import.meta.resolve('task-guard')),
    plugin,
    pluginExists: existsSync(plugin),
    helpers: [triggered.handled, duplicate.handled, duplicate.conflict?.status, duplicate.conflict?.runId === triggered.lease?.runId],
    pluginEntry,
    sameAsDefault: defaultExport.TaskGuard === TaskGuard,
    answers: [first.status, second.status, second.runId === first.runId, released.status],
    held: { status: held.status, runId: held.runId },
    refused: refused === codes.INVALID_ARG ? refused : `unexpected ${refused}`,
  }),
)
