import cjs from './index.js'

export const { TaskGuard, taskKey, codes, fingerprint } = cjs
export default cjs
