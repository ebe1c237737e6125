// The store-conformance suite (conformance.mjs) on the memory store and on
// SQLite; redis-core.mjs runs it on Redis, plain and over TLS.
import path from 'node:path'
import { TaskGuard } from '../index.mjs'
import { conformance } from './conformance.mjs'
import helpers from './sqlite-helpers.cjs'

conformance('memory', {}, async (extra = {}) => new TaskGuard(extra))
conformance('sqlite', {}, (extra = {}) => TaskGuard.open({ store: `sqlite:${path.join(helpers.tempDir(), 'guards.db')}`, ...extra }))
