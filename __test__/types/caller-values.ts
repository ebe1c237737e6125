// Compiled by `npm run test:types` with usage.ts: what a caller passes (issue 12).
import { TaskGuard, type ReleaseOptions, type ReleaseResult } from 'task-guard'

declare function work(): Promise<void>

export async function callerValues(guard: TaskGuard, key: string, runId: string): Promise<void> {
  try {
    await work()
  } catch (err) {
    // Under strict, `err` is `unknown`: the README's catch block compiles as written.
    const r: ReleaseResult = await guard.release(key, runId, 'failed', { error: err })
    if (r.status === 'not_running') console.log(r.key, r.runId)
  }
  const anything: ReleaseOptions[] = [{ error: 'text' }, { error: new Error('x') }, { error: { message: 'm' } }, { error: null }, { error: 10n }]
  console.log(anything.length)
  const r = await guard.release(key, runId)
  switch (r.status) {
    case 'released':
      console.log(r.endedAt)
      break
    case 'lost':
    case 'not_owner':
    case 'already_released':
    case 'not_running':
      break
    default: {
      const none: never = r
      console.log(none)
    }
  }
}
