// The ESM side of the types: an .mts file resolves the package's import types.
import { TaskGuard, codes, type AcquireResult } from 'task-guard'

const guard = await TaskGuard.open({ store: 'memory:' })
const first: AcquireResult = await guard.acquire('install-check::esm-types')
const second: AcquireResult = await guard.acquire('install-check::esm-types')
await guard.close()
/** Never called: must fail to type-check. */
export const misuse = () =>
  // @ts-expect-error onStale is 'heal' | 'fail'
  new TaskGuard({ onStale: 'retry' })
console.log(JSON.stringify({ answers: [first.status, second.status], invalid: codes.INVALID_ARG }))
