// `task-guard/testing` for ESM (one implementation: testing.js).
export * from './testing.js'
