// `task-guard/openclaw` for ESM: index.js's helpers, one implementation (Node finds
// their names in index.js's `module.exports = { … }`).
export * from './index.js'
