// The "Task guards" page of the Control UI (a native plugin page; see README, "The
// Task guards page"). Plain browser JavaScript with no imports, so it ships as is: the
// gateway serves this directory as the plugin's browser entry. It calls the plugin's
// gateway methods over the page's own connection, so the gateway's operator scopes
// decide what it may read and do; it renders, and never decides what a guard may do.

const PLUGIN_ID = 'task-guard'
const PAGE_ID = 'task-guards'
// Gateway methods of operator-surfaces.js (GATEWAY_METHODS).
const LIST = 'taskguard.guards.list'
const WRITES = { approve: 'taskguard.guards.approve', release: 'taskguard.guards.forceRelease' }
// The feature event the plugin emits when a guard changes (plugin.mjs, FEATURE_CONTRACT).
const CHANGED = `plugin.${PLUGIN_ID}.changed`
const STATES = ['running', 'stale', 'failed', 'approved']
// Seconds between looks for changes made by other processes on the same store.
const POLL_TICKS = 5

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'onclick') node.addEventListener('click', v)
    else node.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c))
  return node
}

function age(ms) {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  return `${Math.round(s / 3600)}h`
}

function detail(g, now) {
  if (g.state === 'failed') return g.error ? `failed: ${g.error}` : 'failed'
  if (g.state === 'approved') return `retry approved${g.approvedBy ? ` by ${g.approvedBy}` : ''}${g.reason ? ` (${g.reason})` : ''}${g.error ? `; failed: ${g.error}` : ''}`
  if (g.state === 'stale') return `lease expired ${age(now - g.expiresAt)} ago`
  return `lease expires in ${age(g.expiresAt - now)}`
}

function mountPage(container, context) {
  const { host, signal } = context
  const root = el('div', { class: 'task-guard-page', 'data-testid': 'task-guards' })
  container.replaceChildren(root)
  let state = ''
  let page = null
  let error = null
  let pending = null // { key, action } awaiting confirmation
  let busy = false
  let loading = null
  let again = false
  let skew = 0 // the gateway's clock less this browser's, from the last answer

  async function load() {
    // One request at a time; a change meanwhile asks for one more afterwards.
    if (loading) {
      again = true
      return loading
    }
    loading = (async () => {
      do {
        again = false
        try {
          const res = await host.request(LIST, { limit: 200, ...(state ? { state } : {}) })
          if (signal.aborted) return
          page = res
          skew = res.now - Date.now()
          error = null
        } catch (err) {
          if (signal.aborted) return
          error = `Could not load the guards: ${err?.message ?? err}`
        }
        render()
      } while (again && !signal.aborted)
    })().finally(() => {
      loading = null
    })
    return loading
  }

  async function act(key, action) {
    busy = true
    render()
    try {
      await host.request(WRITES[action], { key })
      pending = null
      error = null
    } catch (err) {
      error = `${action === 'approve' ? 'Approve' : 'Force-release'} failed: ${err?.message ?? err}`
    }
    busy = false
    await load()
  }

  function actions(g) {
    if (!host.connection.canWrite) return null
    const action = g.state === 'failed' ? 'approve' : g.state === 'running' || g.state === 'stale' ? 'release' : null
    if (action === null) return null
    const label = action === 'approve' ? 'Approve' : 'Force-release'
    if (pending?.key === g.key && pending.action === action) {
      const question = action === 'approve' ? `Run ${g.task} again as attempt ${g.attempt + 1}?` : `End run ${g.runId.slice(0, 8)}… of ${g.task}? Its owner's work is not stopped.`
      return el(
        'div',
        { class: 'tg-confirm', role: 'group', 'aria-label': `Confirm ${label}` },
        el('span', {}, question),
        el('button', { class: action === 'release' ? 'tg-danger' : null, 'data-action': `confirm-${action}`, disabled: busy, onclick: () => act(g.key, action) }, `Confirm ${label.toLowerCase()}`),
        el('button', { 'data-action': 'cancel', disabled: busy, onclick: () => ((pending = null), render()) }, 'Cancel'),
      )
    }
    return el('button', { class: action === 'release' ? 'tg-danger' : null, 'data-action': action, onclick: () => ((pending = { key: g.key, action }), render()) }, label)
  }

  // The header (and its state filter, which may be open) is made once; a render
  // replaces what is below it, so a change never closes the filter under the user.
  const filter = el('select', { 'aria-label': 'State', 'data-testid': 'state-filter' }, el('option', { value: '' }, 'All states'), ...STATES.map((s) => el('option', { value: s }, s)))
  filter.addEventListener('change', () => {
    state = filter.value
    load()
  })
  const sub = el('p', { class: 'tg-sub' })
  const countsBar = el('span', { class: 'tg-counts' })
  const body = el('div', {})
  root.replaceChildren(el('h1', {}, 'Task guards'), sub, el('div', { class: 'tg-bar' }, filter, countsBar), body)
  // The cells whose text moves with the clock: [guard, age cell, detail cell].
  let timed = []

  function render() {
    if (signal.aborted) return
    const now = Date.now() + skew
    const counts = page?.counts ?? {}
    sub.textContent = host.connection.canWrite
      ? 'Running, stale, failed and approved tasks of every session. Updates live.'
      : 'Running, stale, failed and approved tasks of every session. Updates live. Read-only: your connection has no operator.write.'
    countsBar.replaceChildren(...STATES.map((s) => el('span', { class: 'tg-count', 'data-count': s }, `${counts[s] ?? 0} ${s}`)))
    timed = []
    const rows = (page?.guards ?? []).map((g) => {
      const ageCell = el('td', { 'data-col': 'age' }, age(now - g.startedAt))
      const detailCell = el('td', { 'data-col': 'detail' }, detail(g, now))
      timed.push([g, ageCell, detailCell])
      return el(
        'tr',
        { 'data-key': g.key, 'data-state': g.state },
        el('td', { class: 'tg-state' }, g.state),
        el('td', { class: 'tg-key', title: g.key }, el('div', {}, g.task), el('div', { class: 'tg-sub' }, g.session ?? '')),
        ageCell,
        el('td', {}, g.owner ?? '—'),
        el('td', { 'data-col': 'attempt' }, String(g.attempt)),
        detailCell,
        el('td', {}, actions(g)),
      )
    })
    // replaceChildren would print a null as the text "null": absent parts are dropped.
    const parts = [
      error ? el('div', { class: 'tg-error', role: 'alert' }, error) : null,
      rows.length === 0
        ? el('div', { class: 'tg-empty' }, page ? 'No running, stale, failed or approved guards.' : 'Loading…')
        : el(
            'table',
            {},
            el('thead', {}, el('tr', {}, ...['State', 'Task', 'Age', 'Owner', 'Attempt', 'Detail', ''].map((h) => el('th', {}, h)))),
            el('tbody', {}, rows),
          ),
      page?.next ? el('p', { class: 'tg-sub' }, `Showing the first ${page.guards.length}; filter by state to see the rest.`) : null,
    ]
    body.replaceChildren(...parts.filter((p) => p !== null))
  }

  /**
   * Each second: ages and lease times move with the clock, in place. What raises no
   * event here is looked up again: a run whose lease has run out (the gateway says
   * whether it is stale), and every POLL_TICKS seconds whatever another process
   * sharing the store changed (another gateway on the SQLite file or on Redis).
   */
  let ticks = 0
  function tick() {
    if (signal.aborted) return
    const now = Date.now() + skew
    let expired = false
    for (const [g, ageCell, detailCell] of timed) {
      ageCell.textContent = age(now - g.startedAt)
      detailCell.textContent = detail(g, now)
      if (g.state === 'running' && g.expiresAt <= now) expired = true
    }
    if ((expired || ++ticks % POLL_TICKS === 0) && !loading) load()
  }

  const offChanged = host.onEvent(CHANGED, () => load())
  // A reconnect may have missed changes; scopes may differ on the new connection.
  let connected = host.connection.connected
  let canWrite = host.connection.canWrite
  const offHost = host.subscribe(() => {
    if (host.connection.connected !== connected || host.connection.canWrite !== canWrite) {
      connected = host.connection.connected
      canWrite = host.connection.canWrite
      if (connected) load()
      else render()
    }
  })
  const ticking = setInterval(tick, 1000)
  render()
  load()
  return {
    dispose() {
      offChanged()
      offHost()
      clearInterval(ticking)
    },
  }
}

export default {
  id: PLUGIN_ID,
  activate(host) {
    const off = [
      host.ui.registerPage({ id: PAGE_ID, label: 'Task guards', mount: mountPage }),
      host.ui.registerNavigation({ id: PAGE_ID, label: 'Task guards', page: { id: PAGE_ID }, icon: 'shield', order: 50 }),
    ]
    return () => {
      for (const dispose of off.reverse()) dispose()
    }
  },
}
