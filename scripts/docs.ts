/**
 * `npm run docs` writes the generated docs: docs/config.md from the config schema, and the tables of
 * docs/performance.md from the bench results under bench/results/. `npm run docs -- --check` writes
 * nothing and exits 1 naming each file that differs from what would be written (part of `npm test`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readResults, renderBenchTables } from '../bench/results-tables.ts';
import { MOVED_KEYS } from '../pipeline/config/legacy.ts';
import { configSchema } from '../pipeline/config/schema.ts';
import { configReference } from './config-reference.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HELP = `usage: npm run docs [-- --check]

Writes docs/config.md from the config schema (pipeline/config/) and the marked tables of
docs/performance.md from bench/results/*.jsonl. --check writes nothing and exits 1 when a
committed file differs from what would be written.

More: docs/config.md, bench/README.md.
`;

/** Each generated file and its content as the sources give it now. */
export function generatedDocs(root = ROOT): { file: string; text: string }[] {
  const example = 'atlas.config.yaml';
  const reference = configReference({ schema: configSchema, moved: MOVED_KEYS, example: { file: example, text: fs.readFileSync(path.join(root, example), 'utf8') } });
  for (const key of reference.undocumented) process.stderr.write(`warning: config key ${key} has no .describe() text; docs/config.md shows "—"\n`);
  const performance = path.join(root, 'docs', 'performance.md');
  return [
    { file: path.join(root, 'docs', 'config.md'), text: reference.markdown },
    { file: performance, text: renderBenchTables(fs.readFileSync(performance, 'utf8'), readResults(path.join(root, 'bench', 'results'))) },
  ];
}

function main(args: string[]): number {
  if (args.includes('--help')) {
    process.stdout.write(HELP);
    return 0;
  }
  const check = args.includes('--check');
  let stale = 0;
  for (const { file, text } of generatedDocs()) {
    const rel = path.relative(ROOT, file);
    const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    if (old === text) continue;
    if (check) {
      process.stderr.write(`${rel} is not what its sources generate: run \`npm run docs\` and commit it\n`);
      stale++;
    } else {
      fs.writeFileSync(file, text);
      process.stdout.write(`wrote ${rel}\n`);
    }
  }
  return stale ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
