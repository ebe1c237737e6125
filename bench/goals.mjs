// The figures the benchmark is judged by. Each part of the bench records its
// goals here as it measures them; the end of the run prints them all, each with
// whether it was met, and BENCH_JSON=<file> writes them (every ratio with the
// figures it was taken from) so that runs can be compared mechanically.
import fs from 'node:fs'

const rows = []
const extras = {}

/**
 * One goal: `value` (a ratio or a difference, as `unit` says) against `target`,
 * met when `value <op> target`; `from`: the figures `value` was computed from;
 * `reachable`: `{ value, why }`, the best any design reaches on this machine as
 * measured in this run, when that is known.
 */
export function goal({ id, figure, value, unit, op, target, from, reachable }) {
  const met = Number.isFinite(value) && (op === '>=' ? value >= target : value <= target)
  rows.push({ id, figure, value, unit, op, target, met, from, reachable })
}

/** A figure that is no goal but belongs in the record (ceilings, findings). */
export function figure(id, value) {
  extras[id] = value
}

const show = (x, unit) => (unit === 'x' ? `${x.toFixed(2)}x` : `${x.toFixed(1)} ${unit}`)

export function report() {
  console.log('\nGoals')
  for (const r of rows) {
    const value = Number.isFinite(r.value) ? show(r.value, r.unit) : 'not measured'
    console.log(`  ${r.figure.padEnd(58)} ${value.padStart(10)}   goal ${r.op} ${show(r.target, r.unit).padEnd(9)} ${r.met ? 'met' : 'NOT met'}`)
    if (r.reachable) console.log(`    at most ~${show(r.reachable.value, r.unit)} here: ${r.reachable.why}`)
  }
  const file = process.env.BENCH_JSON
  if (file) {
    const record = { node: process.version, at: new Date().toISOString(), env: benchEnv(), goals: rows, figures: extras }
    fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`)
    console.log(`\nfigures written to ${file}`)
  }
}

function benchEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_')))
}
