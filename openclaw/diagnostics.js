'use strict'

// What operators read inside OpenClaw: a page of guards as `/taskguard` prints it,
// grouped the way they need acting on, and the guard's metrics (`/taskguard metrics`,
// and the gateway's HTTP route and RPC method, see plugin.mjs).

const ORDER = ['running', 'stale', 'failed', 'approved']

function ago(ms) {
  const s = Math.round(ms / 1000)
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  return `${Math.round(s / 3600)}h`
}

/**
 * Plain text for an {@link Inspection} (one page): counts, one line per guard,
 * and, when there are more pages, the command that shows the next one.
 * `more(next)`: that command (default `/taskguard more <next> [prefix]`).
 */
function formatInspection(inspection, { prefix, more } = {}) {
  const { now, guards, counts, next } = inspection
  const lines = [`task-guard: ${ORDER.map((s) => `${counts[s]} ${s}`).join(', ')}`]
  for (const g of [...guards].sort((a, b) => ORDER.indexOf(a.state) - ORDER.indexOf(b.state))) {
    const head = `${g.state.padEnd(8)} ${g.key}  run ${g.runId}`
    if (g.state === 'running') {
      lines.push(`${head}, started ${ago(now - g.startedAt)} ago by ${g.owner ?? '?'}, expires in ${ago(g.expiresAt - now)}`)
    } else if (g.state === 'stale') {
      lines.push(`${head}, owner ${g.owner ?? '?'} silent since ${ago(now - g.expiresAt)} (the next acquire heals or fails it)`)
    } else if (g.state === 'failed') {
      lines.push(`${head}, failed ${ago(now - g.failedAt)} ago${g.error ? `: ${g.error}` : ''} → /taskguard approve ${g.key}`)
    } else {
      lines.push(`${head}, retry approved${g.approvedBy ? ` by ${g.approvedBy}` : ''}`)
    }
  }
  if (guards.length === 0 && !next) lines.push('no active, stale or failed guards')
  if (next) lines.push(`more: ${more ? more(next) : `/taskguard more ${next}${prefix ? ` ${prefix}` : ''}`}`)
  return lines.join('\n')
}

/** The content type of Prometheus text exposition (format 0.0.4). */
const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/**
 * The gateway's surfaces for the metrics, for `api.registerHttpRoute` (GET, gateway
 * auth) and `api.registerGatewayMethod` (`taskguard.metrics`, answering
 * `{ contentType, text }`). A store that cannot be read answers 503 / an error.
 */
function metricsEndpoints({ getGuard }) {
  return {
    async httpHandler(req, res) {
      try {
        const text = await (await getGuard()).metrics()
        res.statusCode = 200
        res.setHeader('content-type', METRICS_CONTENT_TYPE)
        res.end(req.method === 'HEAD' ? undefined : text)
      } catch (err) {
        res.statusCode = 503
        res.setHeader('content-type', 'text/plain; charset=utf-8')
        res.end(`task-guard: ${err.code ?? 'error'}: ${err.message}\n`)
      }
      return true
    },
    async gatewayMethod({ respond }) {
      try {
        respond(true, { contentType: METRICS_CONTENT_TYPE, text: await (await getGuard()).metrics() })
      } catch (err) {
        respond(false, undefined, { code: 'UNAVAILABLE', message: `task-guard: ${err.code ?? 'error'}: ${err.message}` })
      }
    },
  }
}

module.exports = { formatInspection, metricsEndpoints, METRICS_CONTENT_TYPE }
