import cjs from './index.js'

export const { TaskGuard, taskKey, codes } = cjs
export default cjs
