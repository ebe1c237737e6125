/**
 * Checks a merged history of many processes: per key, runs ordered by fencing
 * token never overlap (a run granted before the previous one's release was even
 * asked for would be a double grant), and tokens never contradict real time.
 * Times are CLOCK_MONOTONIC, shared by the processes of a host.
 */
export function checkHistory(entries) {
  const runs = new Map() // runId -> { key, fence, grantReq, grantResp, endReq }
  for (const e of entries) {
    if (e.op === 'acquire' && e.status === 'acquired') {
      runs.set(e.runId, { key: e.key, fence: e.fence, grantReq: BigInt(e.t0), grantResp: BigInt(e.t1), endReq: null })
    }
  }
  for (const e of entries) {
    if (e.op === 'release' && e.status === 'released') runs.get(e.runId).endReq = BigInt(e.t0)
  }
  const byKey = new Map()
  for (const r of runs.values()) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r])
  let overlaps = 0
  let misordered = 0
  let grants = 0
  for (const list of byKey.values()) {
    list.sort((a, b) => a.fence - b.fence)
    grants += list.length
    for (let i = 1; i < list.length; i++) {
      const [prev, cur] = [list[i - 1], list[i]]
      if (cur.fence === prev.fence) misordered++
      // cur was granted while prev was still live: prev never asked to end, or asked after.
      if (prev.endReq === null || cur.grantResp < prev.endReq) overlaps++
    }
    for (const a of list) {
      for (const b of list) if (a.grantResp < b.grantReq && !(a.fence < b.fence)) misordered++
    }
  }
  return { overlaps, misordered, grants, keys: byKey.size }
}

