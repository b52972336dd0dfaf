import { projectPath } from '../../src/paths.js'

/**
 * The environment for a process a test starts: the test's own, with coverage recording switched off there
 * (the test runner re-adds its hooks to every child, and `_TAPJS_PROCESSINFO_COVERAGE_=0` is its switch).
 * Such a process loads the sources through a different transform, and the coverage report keeps one source
 * map per file from whichever process it reads last, so a child's map could mislay the suite's coverage of
 * every file the child loaded.
 */
export function childEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0', ...overrides }
  delete env.NODE_V8_COVERAGE
  return env
}

/**
 * A program of the project as the build compiled it (`npm test` builds first), for a test to start
 * in a child process: it starts in half the time the sources take through a TypeScript loader.
 */
export const compiledEntry = (source: string) => projectPath('dist', source.replace(/\.ts$/, '.js'))
