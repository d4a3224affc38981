/**
 * `npm test`'s test runner: resolves the test models once (`models.ts`: ATLAS_MODELS, then
 * ../shared/models, then the public models downloaded into .atlas-cache/), then runs Node's test
 * runner on the given files (default: every test) with the folder in `ATLAS_MODELS`, so that every
 * test process and every CLI it starts finds the same models. Where none can be had, it prints one
 * line saying what to set and exits 2 before any test starts.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { resolveTestModels } from './models.ts';

let dir: string;
try {
  ({ dir } = await resolveTestModels());
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}

const files = process.argv.slice(2);
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...(files.length ? files : ['test/**/*.test.ts'])], {
  stdio: 'inherit',
  env: { ...process.env, ATLAS_MODELS: dir },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('close', (code, signal) => process.exit(code ?? 128 + (signal ? os.constants.signals[signal] : 1)));
