// rlhf — the headless cockpit over the same core as the extension.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { killRun, stopRun, type TrainerHandle } from './core/launcher';
import { refreshRemoteRuns, targetOfRun } from './core/launch';
import type { SlurmOptions } from './core/launch/slurm';
import { RayError, downloadRayCheckpoint, rayTarget, type RayOptions } from './core/launch/ray';
import type { RunHandle } from './core/launch/target';
import { resolvePython } from './core/python';
import { displayState, listRuns, listCheckpoints, newRunId, readStatus, summarize } from './core/run/runStore';
import { RunWatcher } from './core/run/runWatcher';
import { formatDuration, formatNumber } from './core/format';
import { StartError, installLayout, runNameOf, runTrainerModule, slurmDryRun, startOnTarget, startTraining } from './core/training';
import { PRESETS, embeddedExample, findPreset, renderPreset } from './core/presets';
import { checkpointInfos, formatBytes } from './core/run/checkpoints';
import { chooseNode } from './core/trainerEnv';
import { formatProblem, parseTrainerProblem, schemaProblems, trainerValidate } from './core/configCheck';
import { RewardEngine, type EngineOptions } from './core/rewards/engine';
import { loadRules } from './core/rewards/load';
import { formatReport, replayRun } from './core/rewards/replay';
import { RuleError } from './core/rewards/rules';
import { serveRewards } from './core/rewards/serve';
import { FRAMEWORKS, type Framework } from './core/adapters';
import { watchCommand } from './core/adapters/watchCommand';
import { ExportError, exportOpenRlhfJob, exportVerlJob } from './core/exportJob';
import { tryCommand } from './core/onnx/tryCommand';
import { labelsExportCommand, parseStepRange, samplesCommand } from './core/samples/samplesCommand';
import { metricsCsv } from './core/csv';
import { hasTag, tagCommand } from './core/run/runNotes';
import { listRunEntries, type RunEntry } from './core/run/listing';
import { saveCommand } from './core/run/control';
import { ConfigSchemas, RM_SCHEMA_FILE, RewardModelError, isRewardModelConfig, rewardModelOf, startRewardModelTraining } from './core/rewardModel';
import { CompareError, DEFAULT_ESTIMATORS, DEFAULT_SEEDS, ESTIMATORS, compareCli, parseEstimators } from './core/compare';
import { EVENTS_FILE, SAMPLES_FILE, SBATCH_FILE, TRAINER_LOG } from './core/run/names';
import { loadSchema, POLICY_SCHEMA_FILE } from './core/schemas';

interface Command {
  usage: string;
  summary: string;
  /** Flags: name -> [type, value name, description, one-letter alias]. */
  flags: Record<string, ['string' | 'boolean', string, string, string?]>;
  positionals: [min: number, max: number];
}

const RUNS_DIR: Command['flags'] = { 'runs-dir': ['string', 'DIR', 'the runs directory (default ./runs)'] };
const SLURM_FLAGS: Command['flags'] = {
  slurm: ['boolean', '', 'submit the run as a Slurm batch job (RUN/job.sbatch: srun + torchrun) from this login node; docs/clusters.md'],
  nodes: ['string', 'N', 'with --slurm: nodes (default 1)'], 'gpus-per-node': ['string', 'G', 'with --slurm: GPUs per node, one rank each (default 0: CPU ranks, --nproc per node)'],
  partition: ['string', 'P', 'with --slurm: the partition (default: the cluster\'s)'], time: ['string', 'T', 'with --slurm: the time limit (Slurm\'s format, e.g. 2:00:00)'],
  account: ['string', 'A', 'with --slurm: the account to charge'], requeue: ['boolean', '', 'with --slurm: Slurm may requeue the job (preemption); it resumes from its newest checkpoint'],
  'dry-run': ['boolean', '', 'with --slurm: print the job script and submit nothing'],
};
const RAY_FLAGS: Command['flags'] = {
  ray: ['string', 'URL', 'submit the run as a Ray job through the Jobs API of this Ray dashboard (e.g. http://127.0.0.1:8265; token: $RLHF_RAY_TOKEN); the run folder is mirrored here; docs/clusters.md'],
  workers: ['string', 'N', 'with --ray: Ray Train workers, one rank each (default 2)'],
  'gpus-per-worker': ['string', 'G', 'with --ray: GPUs per worker (default 0: CPU workers, gloo)'],
  'ray-storage': ['string', 'DIR', 'with --ray: the cluster\'s folder for run folders and checkpoints (default ~/rlhf-runs)'],
  'stop-timeout': ['string', 'S', 'with --ray: seconds a stopped job has to checkpoint before Ray kills it (default 30)'],
};
const COMMANDS: Record<string, Command> = {
  train: { usage: 'rlhf train CONFIG', summary: 'start a run and follow it (Ctrl-C: stop gracefully; twice: kill)', positionals: [1, 1],
    flags: { ...RUNS_DIR, python: ['string', 'PY', 'the Python for the trainer'], resume: ['string', 'CHECKPOINT', 'resume from this checkpoint folder'],
      node: ['string', 'NODE', 'the Node that runs reward rules (default: the one running rlhf)'],
      nproc: ['string', 'N', 'training processes on this machine (default 1; more run under torchrun: DDP or FSDP2 per train.strategy); with --slurm: CPU ranks per node'],
      ...SLURM_FLAGS, ...RAY_FLAGS } },
  runs: { usage: 'rlhf runs', summary: 'list runs with state, step, last reward and tags', positionals: [0, 0],
    flags: { ...RUNS_DIR, tag: ['string', 'TAG', 'only the runs with this tag (rlhf tag)'] } },
  tag: { usage: 'rlhf tag RUN [+TAG ...]', positionals: [1, 65],
    summary: 'add tags to a run (+TAG or TAG; -TAG after --), remove them, set its note; prints its tags and note (kept in RUN/notes.json)',
    flags: { ...RUNS_DIR, remove: ['string', 'TAG,...', 'tags to remove'], note: ['string', 'TEXT', 'the run\'s note (\'\' removes it)'] } },
  stop: { usage: 'rlhf stop RUN', summary: 'stop a run (control line / SIGINT, then SIGKILL after a timeout)', positionals: [1, 1], flags: { ...RUNS_DIR } },
  download: { usage: 'rlhf download RUN', positionals: [1, 1],
    summary: 'fetch a checkpoint of a Ray run from the cluster\'s storage into RUN/checkpoints/step-N (through a small Ray job); prints where it landed',
    flags: { ...RUNS_DIR, step: ['string', 'N', 'the checkpoint\'s step (default: the newest)'] } },
  save: { usage: 'rlhf save RUN', summary: 'ask a live run (started anywhere) for a checkpoint after its current step; prints where it landed',
    positionals: [1, 1], flags: { ...RUNS_DIR } },
  'rewards test': { usage: 'rlhf rewards test RULES', positionals: [1, 1],
    summary: 'score the last N recorded samples of a run (default: the newest) with RULES (a config\'s reward.rules, or a *.reward.ts module)',
    flags: { run: ['string', 'RUN', 'the run (id or folder)'], ...RUNS_DIR, last: ['string', 'N', 'how many samples (default 200)'], json: ['boolean', '', 'print the report as JSON'] } },
  'serve-rewards': { usage: 'rlhf serve-rewards RULES', positionals: [1, 1],
    summary: 'OpenRLHF-compatible remote reward on 127.0.0.1; prints the URL (token in its path) for --reward.remote_url',
    flags: { port: ['string', 'P', 'the port (default: a free one)'], token: ['string', 'T', 'the token (default: $RLHF_REWARD_TOKEN or a new random one)'],
      'memory-mb': ['string', 'MB', 'memory cap of each rule evaluator process (default 256)'] } },
  watch: { usage: 'rlhf watch DIR', positionals: [1, 1],
    summary: `follow a run of another framework (${FRAMEWORKS.join(', ')}; detected from DIR's files): a line per new step until Ctrl-C`,
    flags: { once: ['boolean', '', 'read everything there is, print a summary and exit'], json: ['boolean', '', 'with --once: print the run model as JSON'],
      framework: ['string', 'NAME', `skip detection: ${FRAMEWORKS.join(', ')}`], interval: ['string', 'MS', 'how often to read the files (default 1000)'] } },
  'export-job': { usage: 'rlhf export-job CONFIG', positionals: [1, 1],
    summary: 'write a verl or OpenRLHF launch script (and its data files) for CONFIG into DIR; rlhf watch DIR follows the job',
    flags: { engine: ['string', 'verl|openrlhf', 'the framework that runs the job'], out: ['string', 'DIR', 'the output folder', 'o'],
      nnodes: ['string', 'N', 'nodes (default 1)'], 'gpus-per-node': ['string', 'G', 'GPUs per node (default 1)'],
      rollout: ['string', 'vllm|sglang|hf', 'verl rollout engine (default vllm)'] } },
  'config presets': { usage: 'rlhf config presets', summary: 'list the config presets (paper Table 1, the embedded CPU example, estimator comparisons)',
    positionals: [0, 0], flags: {} },
  'config new': { usage: 'rlhf config new', positionals: [0, 0],
    summary: 'write a commented run config from a preset (default model and data: the embedded example); it validates as written',
    flags: { preset: ['string', 'NAME', 'the preset (rlhf config presets)'], model: ['string', 'PATH', 'a model folder, or a model id in the local Hugging Face cache'],
      data: ['string', 'FILE', 'a JSONL prompt file (prompt and label keys picked from its first rows)'],
      'prompt-key': ['string', 'KEY', 'the prompt field (default: guessed)'], 'label-key': ['string', 'KEY', 'the label field (default: guessed)'],
      out: ['string', 'FILE', 'the file to write (not overwritten)', 'o'] } },
  validate: { usage: 'rlhf validate CONFIG', positionals: [1, 1],
    summary: 'check a config with the trainer (schema, paths, model config and tokenizer, batch sizes, rules); exit 2 with file:line: field: message lines',
    flags: { python: ['string', 'PY', 'the Python for the trainer'], node: ['string', 'NODE', 'the Node that runs reward rules'],
      ...RUNS_DIR } },
  checkpoints: { usage: 'rlhf checkpoints RUN', positionals: [1, 1], summary: 'list a run\'s checkpoints: step, time, size, reward and eval when saved, kept',
    flags: { ...RUNS_DIR, json: ['boolean', '', 'print them as JSON'] } },
  export: { usage: 'rlhf export CHECKPOINT', positionals: [1, 1],
    summary: 'export a checkpoint folder as a Hugging Face model folder (weights, tokenizer, model card) or as ONNX with a KV cache (for rlhf try)',
    flags: { format: ['string', 'hf|onnx', 'the format'], out: ['string', 'DIR', 'the folder to create', 'o'],
      int8: ['boolean', '', 'with --format onnx: also an int8 (dynamically quantised) graph'], python: ['string', 'PY', 'the Python for the trainer'] } },
  try: { usage: 'rlhf try ONNX_DIR', positionals: [1, 1],
    summary: 'generate from an ONNX export (rlhf export --format onnx) on onnxruntime-node, streaming; prints the text, token ids and tokens/s',
    flags: { prompt: ['string', 'TEXT', 'the prompt'], 'prompt-file': ['string', 'FILE', 'read the prompt from FILE (a long prompt)'],
      greedy: ['boolean', '', 'greedy decoding (default: sample)'],
      'max-new-tokens': ['string', 'N', 'tokens to generate (default 64)'], temperature: ['string', 'T', 'sampling temperature (default 1)'],
      'top-p': ['string', 'P', 'nucleus sampling (default 1: off)'], seed: ['string', 'S', 'sampling seed (default 0)'],
      int8: ['boolean', '', 'use the int8 graph'], json: ['boolean', '', 'print the result as JSON'] } },
  samples: { usage: 'rlhf samples RUN', positionals: [1, 1], summary: 'print a run\'s recorded samples, filtered (newest last)',
    flags: { ...RUNS_DIR, step: ['string', 'N', 'only step N'], steps: ['string', 'A:B', 'only steps A to B (either side may be empty)'],
      prompt: ['string', 'TEXT', 'only prompts containing TEXT (case-insensitive)'], 'min-reward': ['string', 'R', 'only rewards >= R'],
      json: ['boolean', '', 'one JSON object per line'] } },
  'labels export': { usage: 'rlhf labels export RUN', positionals: [1, 1],
    summary: 'write the run\'s human preference labels as prompt/chosen/rejected JSONL (OpenRLHF / TRL reward-model and DPO format)',
    flags: { ...RUNS_DIR, out: ['string', 'FILE', 'the JSONL file to write', 'o'] } },
  'train-rm': { usage: 'rlhf train-rm', positionals: [0, 0],
    summary: 'train a Bradley-Terry reward model on preference pairs as a run (its config written into the run folder), follow it like rlhf train; ends printing reward model: PATH',
    flags: { data: ['string', 'FILE', 'preference pairs: prompt/chosen/rejected JSONL (rlhf labels export; OpenRLHF and TRL formats)'],
      config: ['string', 'FILE', 'a reward-model config (kind: reward_model) instead of the flags below; same as rlhf train FILE'],
      model: ['string', 'PATH', 'the base model: a causal LM or sequence-classification folder, or a model id in the local Hugging Face cache (default: the embedded example model)'],
      eval: ['string', 'FILE', 'held-out preference pairs (held-out accuracy)'], ...RUNS_DIR, name: ['string', 'NAME', 'the run name (default rm-<data file name>)'],
      lr: ['string', 'LR', 'learning rate (default: the schema\'s 9e-6; 1e-3 with the embedded example model)'], epochs: ['string', 'N', 'passes over the pairs (default: the schema\'s)'],
      margin: ['string', 'M', 'the margin in -log sigmoid(r_chosen - r_rejected - M) (default 0)'],
      'max-steps': ['string', 'N', 'stop after N optimizer steps (default: the epochs decide)'], 'batch-size': ['string', 'N', 'pairs per optimizer step (default: the schema\'s)'],
      seed: ['string', 'S', 'the seed (default: the schema\'s)'],
      nproc: ['string', 'N', 'training processes on this machine (default 1; more run under torchrun)'],
      python: ['string', 'PY', 'the Python for the trainer'], node: ['string', 'NODE', 'the Node the trainer hands to reward workers'] } },
  compare: { usage: 'rlhf compare CONFIG', positionals: [1, 1],
    summary: 'train CONFIG with each estimator x seed (same prompts and seeds), each a run folder in DIR, then DIR/report.md: Figure 1 and 3 charts and the paper\'s claims, held or not',
    flags: { estimators: ['string', 'LIST', `comma list of ${ESTIMATORS.join(', ')} (default ${DEFAULT_ESTIMATORS.join(',')})`],
      seeds: ['string', 'N', `seeds per estimator: the config's seed, +1, ... (default ${DEFAULT_SEEDS})`], out: ['string', 'DIR', 'the folder for the runs and the report', 'o'],
      'max-steps': ['string', 'N', 'train.max_steps of every run (default: the config\'s)'], parallel: ['string', 'K', 'runs at a time (default 1)'],
      python: ['string', 'PY', 'the Python for the trainer'], node: ['string', 'NODE', 'the Node that runs reward rules'] } },
  metrics: { usage: 'rlhf metrics RUN', positionals: [1, 1], summary: 'print a run\'s metrics, one row per step',
    flags: { ...RUNS_DIR, csv: ['boolean', '', 'as CSV (RFC 4180; the default)'] } },
};

/** Words that group subcommands (`rlhf rewards test`, `rlhf config new`): the first word of a two-word command. */
const GROUPS = new Set(Object.keys(COMMANDS).filter((n) => n.includes(' ')).map((n) => n.split(' ')[0]));

function commandHelp(name: string, c: Command, indent = ''): string {
  const flags = Object.entries(c.flags).map(([f, [type, v, , short]]) => ` [${short ? `-${short}` : `--${f}`}${type === 'string' ? ` ${v}` : ''}]`).join('');
  const lines = [`${indent}${c.usage}${flags}`, `${indent}    ${c.summary}`];
  for (const [f, [type, v, d, short]] of Object.entries(c.flags)) lines.push(`${indent}    ${short ? `-${short}, ` : ''}--${`${f}${type === 'string' ? ` ${v}` : ''}`.padEnd(short ? 16 : 20)} ${d}`);
  return lines.join('\n') + '\n';
}

const HELP = `rlhf — RLHF Studio from the terminal

Usage:
${Object.entries(COMMANDS).map(([n, c]) => commandHelp(n, c, '  ')).join('')}  rlhf --help, rlhf COMMAND --help

Python: --python, else $RLHF_PYTHON, else ./.venv/bin/python, else python3.
Runs directory: --runs-dir, else ./runs.
`;

interface Args { _: string[]; flags: Record<string, string | boolean | undefined> }

/** A mistake on the command line: its message is the whole line to print (exit code 2). */
class UsageError extends Error {}
const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** The command named by argv, its flags parsed strictly; UsageError names what is wrong. */
function parseCommand(argv: string[]): { name: string; cmd: Command; args: Args } | 'help' {
  const first = argv.findIndex((a) => !a.startsWith('-'));
  const word = argv[first];
  if (word === undefined) {
    if (argv.length && argv.every((a) => a === '--help' || a === '-h')) return 'help';
    throw new UsageError(argv.length ? `rlhf: unknown option '${argv[0]}'` : HELP.trimEnd());
  }
  const name = GROUPS.has(word) ? `${word} ${argv[first + 1]}` : word;
  const cmd = COMMANDS[name];
  if (!cmd && GROUPS.has(word)) {
    const subs = Object.keys(COMMANDS).filter((n) => n.startsWith(`${word} `));
    throw new UsageError(`rlhf ${word}: the subcommand${subs.length > 1 ? 's are' : ' is'} ${subs.map((n) => n.split(' ')[1]).join(', ')}: ${subs.map((n) => COMMANDS[n].usage).join('; ')}`);
  }
  if (!cmd) throw new UsageError(`rlhf: unknown command '${word}'`);
  const rest = [...argv.slice(0, first), ...argv.slice(first + name.split(' ').length)];
  const options = Object.fromEntries(Object.entries(cmd.flags).map(([f, [type, , , short]]) => [f, short ? { type, short } : { type }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, strict: true, allowPositionals: true, options: { ...options, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    throw new UsageError(`rlhf ${name}: ${(e as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, '')}`);
  }
  const flags = parsed.values as Args['flags'];
  if (flags.help) { process.stdout.write(commandHelp(name, cmd)); return 'help'; }
  const [min, max] = cmd.positionals;
  const pos = parsed.positionals;
  if (pos.length < min) throw new UsageError(`rlhf ${name}: give ${cmd.usage.split(' ').slice(name.split(' ').length + 1).join(' ')}`);
  if (pos.length > max) throw new UsageError(`rlhf ${name}: unexpected argument '${pos[max]}'`);
  return { name, cmd, args: { _: [...name.split(' '), ...pos], flags } };
}

/** A flag that must be a whole number in [min, max]; UsageError otherwise. */
function intFlag(args: Args, flag: string, fallback: number, min: number, max: number): number {
  const cmd = args._.slice(0, GROUPS.has(args._[0]) ? 2 : 1).join(' ');
  const v = str(args.flags[flag]);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw new UsageError(`rlhf ${cmd}: --${flag} must be a whole number from ${min} to ${max}, not '${v}'`);
  return n;
}

/** A flag that must be one of `choices` (undefined when absent); UsageError otherwise. */
function choiceFlag<T extends string>(args: Args, flag: string, choices: readonly T[]): T | undefined {
  const v = str(args.flags[flag]);
  if (v === undefined || (choices as readonly string[]).includes(v)) return v as T | undefined;
  throw new UsageError(`rlhf ${args._[0]}: --${flag} must be one of ${choices.join(', ')}, not '${v}'`);
}

const fmt = (v: number | null | undefined, d = 3) => formatNumber(v, d);

/** A path as a user pastes it into a shell: relative under the working folder, else absolute. */
const rel = (f: string): string => { const r = path.relative(process.cwd(), f); return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : path.resolve(f); };

const runsDirOf = (args: Args): string => path.resolve(str(args.flags['runs-dir']) ?? 'runs');
/** A run given as a folder path, or as a run id inside the runs directory. */
const runDirOf = (idOrPath: string, runsDir: string): string => (fs.existsSync(idOrPath) ? path.resolve(idOrPath) : path.join(runsDir, idOrPath));

/** The interpreter, and where it came from (so "cannot import torch" says which Python that was). */
function pickPython(args: Args): { path: string; origin: string } {
  const flag = str(args.flags.python);
  if (flag) return { path: flag, origin: '--python' };
  if (process.env.RLHF_PYTHON) return { path: process.env.RLHF_PYTHON, origin: 'RLHF_PYTHON' };
  const choice = resolvePython({ workspaceRoots: [process.cwd()] });
  return { path: choice.path, origin: choice.source === 'workspace-venv' ? `the .venv in ${process.cwd()}`
    : `${choice.path} on PATH: no --python, no RLHF_PYTHON, no .venv or venv in ${process.cwd()}` };
}

async function cmdTrain(args: Args): Promise<number> {
  const config = args._[1];
  if (!config) { process.stderr.write('rlhf train: give the config file, e.g. rlhf train examples/arithmetic/config.yaml\n'); return 2; }
  if (!fs.existsSync(config)) { process.stderr.write(`rlhf train: ${config}: no such file\n`); return 2; }
  const layout = installLayout(path.resolve(__dirname, '..'));
  const runsDir = runsDirOf(args);
  const start = { python: pickPython(args), layout, config: path.resolve(config), runsDir,
    resume: str(args.flags.resume) && path.resolve(str(args.flags.resume)!), nodePath: str(args.flags.node),
    nproc: intFlag(args, 'nproc', 1, 1, 1024) };
  const slurmOnly = Object.keys(SLURM_FLAGS).filter((f) => f !== 'slurm' && args.flags[f] !== undefined);
  if (!args.flags.slurm && slurmOnly.length) throw new UsageError(`rlhf train: --${slurmOnly[0]} goes with --slurm`);
  if (args.flags.slurm) return cmdTrainSlurm(args, start);
  const rayOnly = Object.keys(RAY_FLAGS).filter((f) => f !== 'ray' && args.flags[f] !== undefined);
  if (!args.flags.ray && rayOnly.length) throw new UsageError(`rlhf train: --${rayOnly[0]} goes with --ray`);
  if (args.flags.ray) return cmdTrainRay(args, start);
  return startAndFollow('train', isRewardModelConfig(fs.readFileSync(config, 'utf8')), () => startTraining(start));
}

async function cmdTrainRm(args: Args): Promise<number> {
  const config = str(args.flags.config);
  if (config) { // a reward-model config written by hand (or by an earlier train-rm): exactly rlhf train CONFIG
    const others = ['data', 'model', 'eval', 'name', 'lr', 'epochs', 'margin', 'max-steps', 'batch-size', 'seed'].filter((f) => args.flags[f] !== undefined);
    if (others.length) throw new UsageError(`rlhf train-rm: --config takes its settings from the file; drop --${others.join(', --')} (or drop --config)`);
    if (fs.existsSync(config) && !isRewardModelConfig(fs.readFileSync(config, 'utf8'))) {
      process.stderr.write(`rlhf train-rm: ${config}: not a reward-model config (no top-level kind: reward_model); train a policy config with rlhf train\n`);
      return 2;
    }
    return cmdTrain({ _: ['train', config], flags: args.flags });
  }
  const data = str(args.flags.data);
  if (!data) throw new UsageError('rlhf train-rm: give the preference pairs: --data PREFS.jsonl (prompt/chosen/rejected JSONL, e.g. from rlhf labels export)');
  const layout = installLayout(path.resolve(__dirname, '..'));
  const schemas = new ConfigSchemas(layout.schemasDir);
  const embedded = embeddedExample(layout.root).model;
  const model = str(args.flags.model) ?? embedded;
  const opts = { model, data, eval: str(args.flags.eval), name: str(args.flags.name),
    // the schema's lr (9e-6, OpenRLHF's) is for real language models; the tiny embedded one learns at 1e-3
    lr: numFlag(args, 'lr') ?? (model === embedded ? 1e-3 : undefined), margin: numFlag(args, 'margin'), seed: optIntFlag(args, 'seed', 0, 2 ** 31 - 1),
    epochs: optIntFlag(args, 'epochs', 1, 1_000_000), maxSteps: optIntFlag(args, 'max-steps', 1, 10_000_000),
    batchSize: optIntFlag(args, 'batch-size', 1, 1_000_000), createIfMissing: model === embedded ? 'arithmetic' : undefined };
  const start = { python: pickPython(args), layout, runsDir: runsDirOf(args), nodePath: str(args.flags.node), nproc: intFlag(args, 'nproc', 1, 1, 1024) };
  return startAndFollow('train-rm', true, async () => {
    try {
      const r = await startRewardModelTraining(schemas.get(RM_SCHEMA_FILE), opts, start);
      process.stdout.write(`config: ${rel(r.config)} (train again with: rlhf train ${rel(r.config)})\n`);
      return r.handle;
    } catch (e) {
      if (e instanceof RewardModelError) throw new StartError(e.message);
      throw e;
    }
  });
}

/** A whole-number flag that may be absent (undefined then). */
const optIntFlag = (args: Args, flag: string, min: number, max: number): number | undefined =>
  str(args.flags[flag]) === undefined ? undefined : intFlag(args, flag, min, min, max);

/**
 * Starts a run (policy or reward model) and follows it until its trainer exits: a live line, warnings and
 * evals as they come, Ctrl-C stops gracefully (twice: kills), then a summary; the exit code.
 */
async function startAndFollow(cmd: string, rm: boolean, start: () => Promise<TrainerHandle>): Promise<number> {
  let handle: TrainerHandle;
  try {
    handle = await start();
  } catch (e) {
    if (e instanceof StartError) {
      process.stderr.write(`rlhf ${cmd}: ${e.message}\n${e.fix ? `fix: ${e.fix}\n` : ''}`);
      return 2;
    }
    throw e;
  }
  // the launcher unrefs the trainer (an editor must not wait for it); `rlhf train` waits for its exit
  // to print the summary, and its watcher stops polling at run_finished, before the trainer exits
  handle.child.ref();
  const tty = process.stdout.isTTY;
  process.stdout.write(`run ${rel(handle.runDir)} (pid ${handle.pid}); log: ${path.join(handle.runDir, TRAINER_LOG)}\n`);
  const watcher = new RunWatcher(handle.runDir);
  const m = watcher.model;
  // the headline metric: the reward for a policy, the pair accuracy for a reward model
  const head = rm ? 'rm_accuracy' : 'reward_mean';
  let first: number | null = null;
  let lastLine = '';
  const render = () => {
    const step = m.step;
    const v = m.metrics.last(head);
    if (first === null && v !== null) first = v;
    const p = m.progress;
    const values = rm
      ? `loss ${fmt(m.metrics.last('rm_loss'), 4)}  accuracy ${fmt(v)}  margin ${fmt(m.metrics.last('rm_margin'))}`
      : `reward ${fmt(v)}  kl ${fmt(m.metrics.last('kl'), 4)}  loss ${fmt(m.metrics.last('policy_loss'), 4)}`;
    const line = step > 0 ? `step ${step}/${m.totalSteps ?? '?'}  ${values}  ETA ${formatDuration(m.eta())}`
      : p ? `${p.phase} ${p.done}/${p.total}${p.message ? ` ${p.message}` : ''}` : 'starting';
    if (line === lastLine) return;
    lastLine = line;
    if (tty) process.stdout.write(`\r\x1b[2K${line}`);
    else if (step > 0 && (step % 10 === 0 || step === m.totalSteps)) process.stdout.write(line + '\n');
  };
  m.onLog = (level, message) => {
    if (level === 'warning' || level === 'error' || message.startsWith('eval')) {
      process.stdout.write(`${tty ? '\r\x1b[2K' : ''}[${level}] ${message}\n`);
    }
  };
  watcher.onEvents(render);
  watcher.start(200);
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stdout.write('\nstopping: finishing the current step and writing a checkpoint (Ctrl-C again to kill)\n');
      void stopRun(handle.runDir, handle, 60_000, undefined, `rlhf ${cmd} (Ctrl-C)`);
    } else {
      void killRun(handle.runDir, handle, `killed (SIGKILL) by a second Ctrl-C on rlhf ${cmd}; steps after the last checkpoint are lost`);
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const code = await handle.exited;
  watcher.poll();
  watcher.dispose();
  render();
  const last = m.metrics.last(head);
  process.stdout.write(`${tty ? '\n' : ''}run ${m.state}${m.error ? `: ${m.error}` : ''} at step ${m.step}` +
    (first !== null ? `; ${rm ? 'accuracy' : 'reward'} ${fmt(first)} -> ${fmt(last)}` : '') + '\n');
  const ev = m.evals;
  const heldOut = rm ? 'eval_rm_accuracy' : 'eval_pass@1';
  if (ev.length >= 2 && ev.values[heldOut]) {
    const col = ev.values[heldOut];
    process.stdout.write(`held-out ${rm ? 'accuracy' : 'pass@1'} ${fmt(col[0])} (step ${ev.step[0]}) -> ${fmt(col[col.length - 1])} (step ${ev.step[ev.length - 1]})\n`);
  }
  const ck = listCheckpoints(handle.runDir);
  if (ck.length) process.stdout.write(`checkpoint: ${rel(ck[ck.length - 1])}\n`);
  const model = rewardModelOf(handle.runDir);
  if (model) process.stdout.write(`reward model: ${rel(model)}\n`);
  return m.state === 'failed' ? 1 : code === null ? 1 : code;
}

/** Follows a submitted remote run until its job ends, a line every 10 steps; Ctrl-C leaves the job running. */
async function followRemote(h: RunHandle, submitted: string): Promise<number> {
  process.stdout.write(`run ${path.relative(process.cwd(), h.runDir)}: ${submitted}; log: ${path.join(h.runDir, TRAINER_LOG)}\n` +
    `following it (Ctrl-C leaves the job running; rlhf stop ${path.basename(h.runDir)} stops it)\n`);
  const watcher = new RunWatcher(h.runDir).start(1000);
  let last = '';
  watcher.onEvents(() => {
    const m = watcher.model;
    const line = m.step > 0 ? `step ${m.step}/${m.totalSteps ?? '?'}  reward ${fmt(m.metrics.last('reward_mean'))}` : '';
    if (line && line !== last && (m.step % 10 === 0 || m.step === m.totalSteps)) process.stdout.write(line + '\n');
    last = line;
  });
  const detach = new Promise<number>((resolve) => process.once('SIGINT', () => resolve(0)));
  const code = await Promise.race([h.exited, detach]);
  watcher.poll();
  watcher.dispose();
  const s = summarize(h.runDir);
  process.stdout.write(`run ${displayState(s)}${s.status?.error ? `: ${s.status.error}` : ''} at step ${s.status?.step ?? 0} (${s.jobLabel})\n`);
  return code ?? 1;
}

/** `rlhf train --ray URL`: packs and submits through the Ray Jobs API (no Python here), then follows the mirrored run. */
async function cmdTrainRay(args: Args, start: Parameters<typeof startTraining>[0]): Promise<number> {
  const ray: RayOptions = { address: str(args.flags.ray)!, workers: intFlag(args, 'workers', 2, 1, 100_000),
    gpusPerWorker: intFlag(args, 'gpus-per-worker', 0, 0, 1024), storage: str(args.flags['ray-storage']),
    stopTimeoutS: intFlag(args, 'stop-timeout', 30, 1, 86_400) };
  const { layout, config, runsDir } = start;
  try {
    // --resume names a checkpoint on the cluster (a Ray run's checkpoint events say where): passed as given
    const h = await rayTarget.start({ python: '', trainerDir: layout.trainerDir, schemasDir: layout.schemasDir, rewardWorker: layout.rewardWorker,
      config, runDir: path.join(runsDir, newRunId(runNameOf(config))), resume: str(args.flags.resume), env: {}, ray });
    return await followRemote(h, `ray job ${h.jobId} submitted to ${ray.address}`);
  } catch (e) {
    if (e instanceof RayError) { process.stderr.write(`rlhf train: ${e.message}\n`); return 2; }
    throw e;
  }
}

/** `rlhf download RUN [--step N]`: a Ray run's checkpoint, from the cluster into the local run folder. */
async function cmdDownload(args: Args): Promise<number> {
  const dir = runDirOf(args._[1], runsDirOf(args));
  if (!fs.existsSync(dir)) { process.stderr.write(`rlhf download: no run ${args._[1]} in ${runsDirOf(args)}\n`); return 2; }
  try {
    const step = args.flags.step === undefined ? undefined : intFlag(args, 'step', 0, 0, 1e9);
    const local = await downloadRayCheckpoint(dir, installLayout(path.resolve(__dirname, '..')), step, (s) => process.stdout.write(s + '\n'));
    process.stdout.write(`checkpoint: ${path.relative(process.cwd(), local)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof RayError) { process.stderr.write(`rlhf download: ${e.message}\n`); return 2; }
    throw e;
  }
}

/** `rlhf train --slurm`: submits (or prints the script), then follows the run until the job ends; Ctrl-C leaves the job running. */
async function cmdTrainSlurm(args: Args, start: Parameters<typeof startTraining>[0]): Promise<number> {
  const slurm: SlurmOptions = { nodes: intFlag(args, 'nodes', 1, 1, 100_000), gpusPerNode: intFlag(args, 'gpus-per-node', 0, 0, 1024),
    partition: str(args.flags.partition), time: str(args.flags.time), account: str(args.flags.account), requeue: !!args.flags.requeue };
  try {
    if (args.flags['dry-run']) { process.stdout.write(await slurmDryRun({ ...start, slurm })); return 0; }
    const h = await startOnTarget({ ...start, target: 'slurm', slurm });
    return await followRemote(h, `slurm job ${h.jobId} submitted; script ${path.join(h.runDir, SBATCH_FILE)}`);
  } catch (e) {
    if (e instanceof StartError) { process.stderr.write(`rlhf train: ${e.message}\n${e.fix ? `fix: ${e.fix}\n` : ''}`); return 2; }
    throw e;
  }
}

async function cmdRuns(args: Args): Promise<number> {
  const runsDir = runsDirOf(args);
  const tag = str(args.flags.tag);
  // every file is read through the run folder's guard: a bad run (a link, a FIFO, a giant file in it) is a
  // warning on stderr and an `unknown` row, and the good runs list beside it
  await refreshRemoteRuns(listRuns(runsDir)); // what Slurm (or Ray) says now, and ends they caused
  const all = listRunEntries(runsDir);
  for (const r of all) for (const p of r.problems) process.stderr.write(`warning: ${r.id}: ${p}\n`);
  const runs = all.filter((r) => !tag || hasTag(r.notes, tag));
  if (!runs.length) { process.stdout.write(`no runs${tag ? ` tagged ${tag}` : ''} in ${runsDir}\n`); return 0; }
  const from = (r: RunEntry) => (r.parent ? `${r.parent.parentId}@${r.parent.step}` : '');
  const rows = runs.map((r) => [r.id, displayState(r), String(r.status?.step ?? 0) + (r.status?.total_steps ? `/${r.status.total_steps}` : ''),
    fmt(r.status?.reward_mean ?? null), String(r.checkpoints.length), from(r), r.notes.tags.map((t) => `#${t}`).join(' '), r.jobLabel ?? '']);
  // RESUMED FROM: a resumed run continues its parent's history from that checkpoint step (docs/architecture.md)
  const head = ['RUN', 'STATE', 'STEP', 'REWARD', 'CKPTS', 'RESUMED FROM', 'TAGS', 'JOB'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) process.stdout.write(r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd() + '\n');
  return 0;
}

async function cmdStop(args: Args): Promise<number> {
  const id = args._[1];
  if (!id) { process.stderr.write('rlhf stop: give a run id (see rlhf runs)\n'); return 2; }
  const runsDir = runsDirOf(args);
  const dir = runDirOf(id, runsDir);
  if (!fs.existsSync(dir)) { process.stderr.write(`rlhf stop: no run ${id} in ${runsDir}\n`); return 2; }
  const outcome = await targetOfRun(dir).stop(dir, { timeoutMs: 30_000, onStage: (s) => process.stdout.write(s + '\n'), by: 'rlhf stop' });
  if (outcome === 'not-running') process.stdout.write(`${id} is not running\n`);
  else if (outcome === 'killed' || outcome === 'cancelled') process.stdout.write(`${id} ${outcome}: ${readStatus(dir)?.error ?? 'it did not stop within 30 s'}\n`);
  else process.stdout.write(`${id} stopped (${outcome})\n`);
  return 0;
}

function engineFor(file: string | undefined, cmd: string, opts: EngineOptions = {}): RewardEngine | number {
  if (!file) { process.stderr.write(`rlhf ${cmd}: give the rules: a run config with reward.rules, or a *.reward.ts module\n`); return 2; }
  try {
    return new RewardEngine(loadRules(file), opts);
  } catch (e) {
    if (e instanceof RuleError) { process.stderr.write(`rlhf ${cmd}: ${e.message}\n`); return 2; }
    throw e;
  }
}

async function cmdRewardsTest(args: Args): Promise<number> {
  const last = intFlag(args, 'last', 200, 1, 1_000_000);
  const engine = engineFor(args._[2], 'rewards test');
  if (typeof engine === 'number') return engine;
  try {
    await engine.ready();
    const runsDir = runsDirOf(args);
    const run = str(args.flags.run);
    const dir = run ? runDirOf(run, runsDir) : listRuns(runsDir)[0]?.dir;
    if (!dir || !fs.existsSync(path.join(dir, SAMPLES_FILE))) {
      process.stderr.write(`rlhf rewards test: no samples.jsonl for ${run ?? `the newest run in ${runsDir}`}; pass --run RUN\n`);
      return 2;
    }
    const report = await replayRun(engine, dir, last);
    process.stdout.write((args.flags.json ? JSON.stringify(report, null, 1) : formatReport(report)) + '\n');
    return 0;
  } catch (e) {
    process.stderr.write(`rlhf rewards test: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  } finally { await engine.close(); }
}

async function cmdServeRewards(args: Args): Promise<number> {
  const port = intFlag(args, 'port', 0, 0, 65535);
  const engine = engineFor(args._[1], 'serve-rewards', { memoryMb: intFlag(args, 'memory-mb', 256, 16, 65536) });
  if (typeof engine === 'number') return engine;
  try { await engine.ready(); } catch (e) { process.stderr.write(`rlhf serve-rewards: ${(e as Error).message}\n`); return 2; }
  const srv = await serveRewards(engine, { port, token: str(args.flags.token) ?? process.env.RLHF_REWARD_TOKEN });
  process.stdout.write(`serving rewards at ${srv.url}\n` +
    `OpenRLHF: --reward.remote_url ${srv.url}\n` +
    `other clients: POST ${srv.headerUrl} with the header "Authorization: Bearer ${srv.token}"\n`);
  await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
  await srv.close();
  await engine.close();
  return 0;
}

async function cmdWatch(args: Args): Promise<number> {
  const framework = choiceFlag<Framework>(args, 'framework', FRAMEWORKS);
  const intervalMs = intFlag(args, 'interval', 1000, 50, 3_600_000);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  try {
    return await watchCommand({ dir: args._[1], once: Boolean(args.flags.once), json: Boolean(args.flags.json), framework, intervalMs, signal: abort.signal });
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

function cmdExportJob(args: Args): number {
  const engine = choiceFlag(args, 'engine', ['verl', 'openrlhf'] as const);
  if (!engine) throw new UsageError('rlhf export-job: give --engine verl or --engine openrlhf');
  const outDir = str(args.flags.out);
  if (!outDir) throw new UsageError('rlhf export-job: give the output folder: -o DIR');
  const rollout = choiceFlag(args, 'rollout', ['vllm', 'sglang', 'hf'] as const);
  if (rollout && engine !== 'verl') throw new UsageError('rlhf export-job: --rollout is a verl option');
  const configFile = args._[1];
  if (!fs.existsSync(configFile)) { process.stderr.write(`rlhf export-job: ${configFile}: no such file\n`); return 2; }
  const common = { configFile, schema: loadSchema(POLICY_SCHEMA_FILE, installLayout(path.resolve(__dirname, '..')).schemasDir), outDir,
    nnodes: intFlag(args, 'nnodes', 1, 1, 100_000), gpusPerNode: intFlag(args, 'gpus-per-node', 1, 1, 1024) };
  let job: { command: string; warnings: string[]; files: string[] };
  try {
    job = engine === 'verl' ? exportVerlJob({ ...common, rolloutEngine: rollout }) : exportOpenRlhfJob(common);
  } catch (e) {
    if (e instanceof ExportError) { process.stderr.write(`rlhf export-job: ${e.message}\n`); return 2; }
    throw e;
  }
  // paths under the working folder relative, others absolute: what a user pastes into a shell
  process.stdout.write(`${engine} job written to ${rel(path.resolve(outDir))}: ${job.files.map(rel).join(', ')}\n\n${job.command}\n\n`);
  for (const w of job.warnings) process.stdout.write(`warning: ${w}\n`);
  const watchDir = engine === 'verl' ? path.resolve(outDir) : path.join(path.resolve(outDir), 'tensorboard');
  process.stdout.write(`run it with: bash ${rel(path.join(path.resolve(outDir), 'run.sh'))}; watch it with: rlhf watch ${rel(watchDir)}\n`);
  return 0;
}

/** A flag that must be a finite number (undefined when absent); UsageError otherwise. */
function numFlag(args: Args, flag: string): number | undefined {
  const v = str(args.flags[flag]);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`rlhf ${args._.slice(0, GROUPS.has(args._[0]) ? 2 : 1).join(' ')}: --${flag} must be a number, not '${v}'`);
  return n;
}

/** The longest --prompt that `rlhf try` takes on its command line (longer ones: --prompt-file). */
const TRY_MAX_ARG = 16_384;

function cmdTry(args: Args): Promise<number> {
  const file = str(args.flags['prompt-file']);
  let prompt = str(args.flags.prompt);
  if ((prompt === undefined) === (file === undefined)) throw new UsageError('rlhf try: give the prompt: --prompt TEXT or --prompt-file FILE');
  // onnxruntime-node crashes (SIGSEGV) in a process whose command line holds an argument of ~30,000 characters
  if (prompt !== undefined && prompt.length > TRY_MAX_ARG) {
    process.stderr.write(`rlhf try: a --prompt of ${prompt.length} characters is too long for a command line here (onnxruntime-node `
      + `crashes on one); write it to a file and pass --prompt-file FILE\n`);
    return Promise.resolve(2);
  }
  if (file !== undefined) {
    try { prompt = fs.readFileSync(file, 'utf8'); } catch (e) {
      process.stderr.write(`rlhf try: --prompt-file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}\n`);
      return Promise.resolve(2);
    }
  }
  return tryCommand({ target: args._[1], prompt: prompt!, greedy: !!args.flags.greedy, maxNewTokens: intFlag(args, 'max-new-tokens', 64, 1, 100_000),
    temperature: numFlag(args, 'temperature'), topP: numFlag(args, 'top-p'), seed: intFlag(args, 'seed', 0, 0, 2 ** 32 - 1),
    int8: !!args.flags.int8, json: !!args.flags.json }, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
}

function cmdSamples(args: Args): number {
  const stepsText = str(args.flags.steps);
  const steps = stepsText === undefined ? undefined : parseStepRange(stepsText);
  if (stepsText !== undefined && !steps) throw new UsageError(`rlhf samples: --steps must be A:B with A <= B (either side may be empty), not '${stepsText}'`);
  const step = str(args.flags.step) === undefined ? undefined : intFlag(args, 'step', 0, 0, Number.MAX_SAFE_INTEGER);
  return samplesCommand({ run: runDirOf(args._[1], runsDirOf(args)), step, steps, prompt: str(args.flags.prompt),
    minReward: numFlag(args, 'min-reward'), json: !!args.flags.json }, process.stdout, process.stderr);
}

function cmdLabelsExport(args: Args): number {
  const output = str(args.flags.out);
  if (!output) throw new UsageError('rlhf labels export: give the file to write: -o FILE');
  return labelsExportCommand({ run: runDirOf(args._[2], runsDirOf(args)), output }, process.stdout, process.stderr);
}

function cmdTag(args: Args): number {
  const r = tagCommand(runDirOf(args._[1], runsDirOf(args)), args._[1], args._.slice(2), { remove: str(args.flags.remove), note: str(args.flags.note) });
  (r.code ? process.stderr : process.stdout).write(r.out);
  return r.code;
}

function cmdMetrics(args: Args): number {
  const dir = runDirOf(args._[1], runsDirOf(args));
  if (!fs.existsSync(path.join(dir, EVENTS_FILE))) { process.stderr.write(`rlhf metrics: ${args._[1]}: no events.jsonl there (see rlhf runs)\n`); return 2; }
  const w = new RunWatcher(dir);
  w.poll();
  w.dispose();
  if (w.tail.problem) { process.stderr.write(`rlhf metrics: ${w.tail.problem}\n`); return 2; }
  process.stdout.write(metricsCsv(w.model.metrics));
  return 0;
}

function cmdCompare(args: Args): Promise<number> {
  const config = args._[1];
  if (!fs.existsSync(config)) throw new UsageError(`rlhf compare: ${config}: no such file`);
  const out = str(args.flags.out);
  if (!out) throw new UsageError('rlhf compare: give -o DIR, the folder for the runs and the report');
  let estimators: string[];
  try { estimators = parseEstimators(str(args.flags.estimators) ?? DEFAULT_ESTIMATORS.join(',')); } catch (e) {
    if (e instanceof CompareError) throw new UsageError(`rlhf compare: --estimators: ${e.message}`);
    throw e;
  }
  const maxSteps = str(args.flags['max-steps']) === undefined ? undefined : intFlag(args, 'max-steps', 0, 1, 10_000_000);
  return compareCli({ python: pickPython(args), layout: installLayout(path.resolve(__dirname, '..')), config: path.resolve(config),
    outDir: path.resolve(out), estimators, seeds: intFlag(args, 'seeds', DEFAULT_SEEDS, 1, 100), maxSteps,
    parallel: intFlag(args, 'parallel', 1, 1, 64), nodePath: str(args.flags.node), out: process.stdout, err: process.stderr });
}

function cmdConfigPresets(): number {
  const w = Math.max(...PRESETS.map((p) => p.name.length));
  for (const p of PRESETS) process.stdout.write(`${p.name.padEnd(w)}  ${p.summary}\n`);
  process.stdout.write('\nwrite one: rlhf config new --preset NAME [--model PATH] [--data FILE] -o FILE\n');
  return 0;
}

function cmdConfigNew(args: Args): number {
  const name = str(args.flags.preset);
  if (!name) throw new UsageError(`rlhf config new: give --preset NAME (one of ${PRESETS.map((p) => p.name).join(', ')})`);
  const preset = findPreset(name);
  if (!preset) throw new UsageError(`rlhf config new: --preset must be one of ${PRESETS.map((p) => p.name).join(', ')}, not '${name}'`);
  const out = str(args.flags.out);
  if (!out) throw new UsageError('rlhf config new: give the file to write: -o FILE');
  if (fs.existsSync(out)) { process.stderr.write(`rlhf config new: ${out} already exists; choose another file or delete it\n`); return 2; }
  const data = str(args.flags.data);
  if (data && !fs.existsSync(data)) { process.stderr.write(`rlhf config new: --data ${data}: no such file\n`); return 2; }
  const text = renderPreset(preset, { root: path.resolve(__dirname, '..'), model: str(args.flags.model), data, outFile: out,
    promptKey: str(args.flags['prompt-key']), labelKey: str(args.flags['label-key']) });
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, text, { flag: 'wx' });
  process.stdout.write(`wrote ${out} (preset ${preset.name}); check it with: rlhf validate ${out}\n`);
  return 0;
}

async function cmdValidate(args: Args): Promise<number> {
  const config = args._[1];
  if (!fs.existsSync(config)) { process.stderr.write(`rlhf validate: ${config}: no such file\n`); return 2; }
  const layout = installLayout(path.resolve(__dirname, '..'));
  // the schema problems all at once (no Python needed), else every semantic problem of the trainer's validate
  const text = fs.readFileSync(config, 'utf8');
  let lines = schemaProblems(text, new ConfigSchemas(layout.schemasDir).schemaFor(text)).map((p) => formatProblem(config, p));
  if (!lines.length) {
    const r = await trainerValidate(pickPython(args).path, layout, config, { node: chooseNode({ setting: str(args.flags.node) }), runsDir: runsDirOf(args) });
    lines = r.problems.map((l) => { const p = parseTrainerProblem(l); return p.line || p.field ? formatProblem(config, p) : `${config}: ${p.message}`; });
    if (!lines.length) { process.stdout.write(`${config}: ok\n${r.estimates.map((e) => `estimate: ${e}\n`).join('')}`); return 0; }
  }
  process.stderr.write(lines.join('\n') + '\n');
  return 2;
}

function cmdCheckpoints(args: Args): number {
  const runsDir = runsDirOf(args);
  const dir = runDirOf(args._[1], runsDir);
  if (!fs.existsSync(dir)) { process.stderr.write(`rlhf checkpoints: no run ${args._[1]} in ${runsDir}\n`); return 2; }
  const problems: string[] = [];
  const infos = checkpointInfos(dir, problems);
  for (const p of problems) process.stderr.write(`warning: ${p} (the checkpoints are listed without their metrics)\n`);
  if (args.flags.json) { process.stdout.write(JSON.stringify(infos, null, 1) + '\n'); return 0; }
  if (!infos.length) { process.stdout.write(`${path.basename(dir)} has no complete checkpoints\n`); return 0; }
  const rows = infos.map((c) => [c.name, String(c.step), new Date(c.time).toISOString().replace('T', ' ').slice(0, 19), formatBytes(c.bytes),
    fmt(c.metrics.reward_mean ?? null), c.evalValues ? Object.entries(c.evalValues).map(([k, v]) => `${k}=${fmt(v)}`).join(' ') : '', c.kept ? 'kept' : '', c.dir]);
  const head = ['CHECKPOINT', 'STEP', 'SAVED', 'SIZE', 'REWARD', 'EVAL', 'KEEP', 'PATH']; // not a run-folder name: a column header
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) process.stdout.write(r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd() + '\n');
  return 0;
}

async function cmdExport(args: Args): Promise<number> {
  const format = choiceFlag(args, 'format', ['hf', 'onnx'] as const);
  if (!format) throw new UsageError('rlhf export: give --format hf or --format onnx');
  if (args.flags.int8 && format !== 'onnx') throw new UsageError('rlhf export: --int8 goes with --format onnx');
  const out = str(args.flags.out);
  if (!out) throw new UsageError('rlhf export: give the folder to create: -o DIR');
  const ckpt = args._[1];
  if (!fs.existsSync(ckpt)) { process.stderr.write(`rlhf export: ${ckpt}: no such checkpoint folder (see rlhf checkpoints RUN)\n`); return 2; }
  const r = await runTrainerModule(pickPython(args).path, installLayout(path.resolve(__dirname, '..')),
    format === 'hf' ? 'rlhf_trainer.export_hf' : 'rlhf_trainer.onnx_export',
    [path.resolve(ckpt), '-o', path.resolve(out), ...(args.flags.int8 ? ['--int8'] : [])]);
  process.stdout.write(r.stdout);
  if (r.code === 0) return 0;
  process.stderr.write(`rlhf export: ${r.stderr.trim().split('\n').filter(Boolean).pop()?.replace(/^error: /, '') ?? `exit code ${r.code}`}\n`);
  return r.code === 2 ? 2 : 1;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const parsed = parseCommand(argv);
    if (parsed === 'help') { if (!argv.some((a) => !a.startsWith('-'))) process.stdout.write(HELP); return 0; }
    const { name, args } = parsed;
    switch (name) {
      case 'train': return await cmdTrain(args);
      case 'train-rm': return await cmdTrainRm(args);
      case 'runs': return await cmdRuns(args);
      case 'tag': return cmdTag(args);
      case 'stop': return await cmdStop(args);
      case 'download': return await cmdDownload(args);
      case 'save': {
        const dir = runDirOf(args._[1], runsDirOf(args));
        // a Ray run's folder is on the cluster: a request file here would never reach it (docs/clusters.md)
        if (readStatus(dir)?.job?.target === 'ray') { process.stderr.write(`rlhf save: ${args._[1]} runs on Ray, where a checkpoint on request is not supported yet; rlhf stop ${args._[1]} checkpoints and stops it\n`); return 2; }
        return await saveCommand(dir, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
      }
      case 'rewards test': return await cmdRewardsTest(args);
      case 'watch': return await cmdWatch(args);
      case 'export-job': return cmdExportJob(args);
      case 'config presets': return cmdConfigPresets();
      case 'config new': return cmdConfigNew(args);
      case 'validate': return await cmdValidate(args);
      case 'checkpoints': return cmdCheckpoints(args); // not a run-folder name: the command
      case 'export': return await cmdExport(args);
      case 'try': return await cmdTry(args);
      case 'samples': return cmdSamples(args);
      case 'labels export': return cmdLabelsExport(args);
      case 'metrics': return cmdMetrics(args);
      case 'compare': return await cmdCompare(args);
      default: return await cmdServeRewards(args);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${e.message}\n${e.message === HELP.trimEnd() ? '' : 'see rlhf --help\n'}`);
    return 2;
  }
}

if (require.main === module) {
  // `rlhf samples RUN | head`: a reader that has seen enough is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    process.stderr.write(`rlhf: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
