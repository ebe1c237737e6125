'use strict'
// A payload's fingerprint: the SHA-256 of its JSON with object keys in sorted
// order, so the same value hashes the same whatever order its keys were built in.

const { createHash } = require('node:crypto')
const { invalidArg } = require('./errors')
const { thrownText } = require('./validate')

/** JSON of `value` with every object's keys sorted (arrays keep their order). */
function canonicalJson(value) {
  return JSON.stringify(value, (_, v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v
    const sorted = {}
    for (const k of Object.keys(v).sort()) sorted[k] = v[k]
    return sorted
  })
}

/** `'sha256:<64 hex digits>'` for a JSON value; anything JSON cannot hold is refused. */
function fingerprint(value) {
  let json
  try {
    json = canonicalJson(value)
  } catch (err) {
    // A cycle, a BigInt, a throwing getter or toJSON.
    throw invalidArg(`fingerprint: the value is not JSON: ${thrownText(err)}`, { cause: err })
  }
  if (json === undefined) throw invalidArg(`fingerprint: ${typeof value} is not a JSON value`)
  return `sha256:${createHash('sha256').update(json).digest('hex')}`
}

module.exports = { fingerprint, canonicalJson }
