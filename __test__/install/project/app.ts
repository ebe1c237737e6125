// Compiled in the installed project with its own tsc against the installed types
// (module NodeNext: a CommonJS file, so it resolves the package's require types),
// then run. Each @ts-expect-error must be an error, or tsc fails.
import { TaskGuard, taskKey, codes, type AcquireResult, type Inspection } from 'task-guard'

async function main(): Promise<void> {
  const guard = new TaskGuard({ defaultTtlMs: 60_000 })
  const key: string = taskKey('install-check', 'typed')
  const r: AcquireResult = await guard.acquire(key, { owner: 'ts' })
  if (r.status !== 'acquired') throw new Error(`expected acquired, got ${r.status}`)
  const token: number = r.fencingToken
  const seen: Inspection = await guard.inspect({ state: 'running' })
  const done = await guard.run(taskKey('install-check', 'run'), async () => 41 + 1)
  const value: number = done.status === 'completed' ? done.value : -1
  await guard.release(key, r.runId, 'succeeded')
  await guard.close()
  const code: 'ERR_TASK_GUARD_NO_BINARY' = codes.NO_BINARY
  console.log(JSON.stringify({ token, running: seen.counts.running, value, code }))
}

/** Never called: each line must fail to type-check. */
export function misuse(guard: TaskGuard, runId: string): void {
  // @ts-expect-error unknown release status
  void guard.release('k::t', runId, 'done')
  // @ts-expect-error ttlMs is a number
  void guard.acquire('k::t', { ttlMs: '5' })
  // @ts-expect-error a store is a URL string (any string type-checks: it may come from the environment)
  void TaskGuard.open({ store: 5432 })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
