'use strict'
// The one list of error codes, options and defaults (contract.json), as the
// facade uses it.

const contract = require('./contract.json')

/** The names an options object of `kind` may hold, as a Set. */
function optionNames(kind) {
  const table = contract.options[kind]
  if (table === undefined) throw new Error(`no options of kind ${kind}`)
  return new Set(Object.keys(table))
}

/** The documented default of option `name` of `kind`. */
function optionDefault(kind, name) {
  return contract.options[kind][name].default
}

/** `ERR_TASK_GUARD_*` by name (INVALID_ARG, …). */
const codes = Object.freeze(Object.fromEntries(Object.entries(contract.codes).map(([name, c]) => [name, c.code])))

/**
 * How often a run of `ttlMs` is heartbeated when no period is given: a third
 * of its ttl, so two beats may be missed before it goes stale.
 */
function heartbeatEvery(ttlMs) {
  return Math.max(1, Math.floor(ttlMs / 3))
}

module.exports = { contract, optionNames, optionDefault, codes, heartbeatEvery }
