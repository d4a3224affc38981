/**
 * The job files in deploy/ and the shards workflow parse, shard the way the pipeline reads shards,
 * and name only npm scripts, CLI commands and flags that exist (checked against package.json and
 * the CLI's own --help).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT, runCli } from './support/robust-run.ts';

const pkg = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const help = (await runCli(['--help'])).stderr;
const CLI_SCRIPTS = ['pipeline', 'build:atlas', 'merge'];

/** Every npm script and CLI flag a shell command names exists. */
function assertCommandsExist(where: string, command: string): number {
  let checked = 0;
  for (const line of command.split(/\n|&&/)) {
    const script = /npm run (\S+)/.exec(line)?.[1];
    if (script) assert.ok(pkg.scripts[script], `${where}: npm run ${script} is no script of package.json`);
    const cli = /pipeline\/cli\.ts (\S+)/.exec(line)?.[1];
    if (cli) assert.ok(['pipeline', 'build', 'merge'].includes(cli), `${where}: no CLI command ${cli}`);
    if (script || cli) checked++;
    if (!cli && !(script && CLI_SCRIPTS.includes(script))) continue;
    for (const flag of line.match(/(?<=\s)--[a-z][a-z-]*/g) ?? []) {
      if (flag !== '--import') assert.ok(help.includes(`  ${flag} `), `${where}: the CLI has no flag ${flag}`);
    }
  }
  return checked;
}

test('Kubernetes: an Indexed Job whose ATLAS_SHARD_COUNT equals its completions, a merge Job over the same shards, real commands', async () => {
  const docs = async (f: string) => parseAllDocuments(await fs.readFile(path.join(ROOT, 'deploy/k8s', f), 'utf8')).map((d) => d.toJS());
  const shards = (await docs('atlas-shards.yaml')).find((d) => d.kind === 'Job');
  const merge = (await docs('atlas-merge.yaml')).find((d) => d.kind === 'Job');
  assert.equal(shards.spec.completionMode, 'Indexed');
  const container = shards.spec.template.spec.containers[0];
  const count = container.env.find((e: { name: string }) => e.name === 'ATLAS_SHARD_COUNT').value;
  assert.equal(Number(count), shards.spec.completions);
  const shardCmd = [...container.command, ...container.args].join(' ');
  assert.match(shardCmd, /--output "\/atlas\/atlas-data\.shard-\$\{JOB_COMPLETION_INDEX\}-of-\$\{ATLAS_SHARD_COUNT\}"/);
  const mergeCmd = merge.spec.template.spec.containers[0].args.join(' ');
  assert.ok(mergeCmd.includes(`/atlas/atlas-data.shard-*-of-${shards.spec.completions} --into /atlas/atlas-data`));
  for (const job of [shards, merge]) assert.equal(job.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, 'atlas-data');
  assert.ok(assertCommandsExist('atlas-shards.yaml', shardCmd) >= 1);
  assert.ok(assertCommandsExist('atlas-merge.yaml', mergeCmd) >= 2);
});

test('GitHub Actions: a matrix of runners sets ATLAS_SHARD_INDEX/COUNT, uploads shards, merges, builds and deploys; real commands', async () => {
  const wf = parse(await fs.readFile(path.join(ROOT, '.github/workflows/atlas-shards.yml'), 'utf8'));
  const { render, merge, deploy } = wf.jobs;
  assert.equal(render.env.ATLAS_SHARD_INDEX, '${{ matrix.shard }}');
  assert.equal(render.env.ATLAS_SHARD_COUNT, '${{ strategy.job-total }}');
  assert.ok(render.steps.some((s: { uses?: string }) => s.uses?.startsWith('actions/upload-artifact')));
  assert.deepEqual(merge.needs, 'render');
  assert.deepEqual(deploy.needs, 'merge');
  let checked = 0;
  for (const job of Object.values(wf.jobs) as { steps: { run?: string }[] }[]) for (const s of job.steps) if (s.run) checked += assertCommandsExist('atlas-shards.yml', s.run);
  assert.ok(checked >= 3, `${checked} commands checked`);
});

test('Slurm: the array is a range, the merge depends on it in the documented commands, real commands', async () => {
  const read = (f: string) => fs.readFile(path.join(ROOT, 'deploy/slurm', f), 'utf8');
  const [shards, merge] = await Promise.all([read('atlas-shards.sbatch'), read('atlas-merge.sbatch')]);
  assert.match(shards, /^#SBATCH --array=\d+-\d+$/m);
  assert.match(shards, /sbatch --dependency=afterany:\$jid deploy\/slurm\/atlas-merge\.sbatch/);
  const body = (text: string) =>
    text
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
  assert.ok(assertCommandsExist('atlas-shards.sbatch', body(shards)) >= 1);
  assert.ok(assertCommandsExist('atlas-merge.sbatch', body(merge)) >= 2);
});
