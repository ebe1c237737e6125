'use strict'
// For this package's own tests: moves a store's clock forward so runs go
// stale without sleeping. Not part of the public API.

const { backendOf } = require('./guard')

function advanceClock(guard, ms) {
  backendOf(guard).advanceClock(ms)
}

module.exports = { advanceClock }
