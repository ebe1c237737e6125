// A user's Jest set-up at its harshest: modern fake timers in every test file,
// installed before task-guard loads; test files run in parallel workers.
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  fakeTimers: { enableGlobally: true },
  testTimeout: 15000,
}
