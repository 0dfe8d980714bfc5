// --home across the command tree: every command that talks to the stack takes it (the tree
// is walked through yargs' own help, so a command added later is checked too), and run in
// this process, a command goes to the stack --home names: a home never brought up stops
// it before anything connects, and a server that does not answer (a port nothing listens
// on) is reported with that home and address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildCli } from '../../cli/program.js';
import { describeFailure, EXIT } from '../../cli/errors.js';
import { writeState } from '../../cli/stack/state.js';

/** Commands that never reach Temporal or MLflow (completion prints a script). */
const LOCAL_ONLY = ['sweep validate', 'trial run', 'linear-eval'];

async function helpOf(words: string[]): Promise<string> {
  let out = '';
  await buildCli([...words, '--help'])
    .exitProcess(false)
    .parseAsync([...words, '--help'], {}, (_err, _argv, output) => {
      out = output;
    });
  return out;
}

/** The names of the subcommands a help text lists under "Commands:". */
function subcommands(help: string, words: string[]): string[] {
  const section = help.split(/^Commands:$/m)[1]?.split(/^\S/m)[0] ?? '';
  const prefix = ['mirl', ...words].join(' ') + ' ';
  return section
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length).split(/\s/)[0])
    .filter((name) => name !== 'completion');
}

async function leaves(words: string[] = []): Promise<{ path: string; help: string }[]> {
  const help = await helpOf(words);
  const subs = subcommands(help, words);
  if (subs.length === 0) return [{ path: words.join(' '), help }];
  return (await Promise.all(subs.map((s) => leaves([...words, s])))).flat();
}

test('every command that talks to the stack takes --home; only the local ones do not', async () => {
  const all = await leaves();
  const paths = all.map((l) => l.path);
  // The walk found the tree, not an empty help text.
  for (const known of ['sweep launch', 'sweep status', 'sweep extend', 'compare', 'report', 'worker', 'up', 'down'])
    assert.ok(paths.includes(known), `${known} in ${paths.join(', ')}`);
  assert.ok(paths.length >= 20, paths.join(', '));
  const withHome = all.filter((l) => /^\s+--home\s/m.test(l.help)).map((l) => l.path);
  const without = paths.filter((p) => !withHome.includes(p));
  assert.deepEqual(without.sort(), [...LOCAL_ONLY].sort(), 'commands without --home');
  const option = all.find((l) => l.path === 'sweep launch')!.help;
  assert.match(option.replace(/\s+/g, ' '), /--home the stack's home: .*\(default: MIRL_HOME, else \.\/\.mirl\)/);
});

/** Runs `mirl args` in this process, returning its failure as main.ts would print it. */
async function failureOf(args: string[]): Promise<{ message: string; code: number; ms: number }> {
  const t0 = Date.now();
  try {
    await buildCli(args)
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .parseAsync();
  } catch (err) {
    return { ...describeFailure(err), ms: Date.now() - t0 };
  }
  assert.fail(`mirl ${args.join(' ')} succeeded`);
}

async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function withStackEnv(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirl-home-cli-'));
  const saved = { ...process.env };
  // A default stack that must never be reached: had a command fallen back to it, it would say so.
  delete process.env.MIRL_HOME;
  process.env.TEMPORAL_ADDRESS = `127.0.0.1:${await deadPort()}`;
  process.env.MLFLOW_TRACKING_URI = `http://127.0.0.1:${await deadPort()}`;
  try {
    await work(dir);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    rmSync(dir, { recursive: true, force: true });
  }
}

function stackHomeAt(dir: string, temporal: number, mlflow: number): string {
  const home = path.join(dir, 'stack');
  writeState(path.join(home, 'stack.json'), {
    version: 1,
    home,
    ports: { temporal, temporalUi: temporal + 1, mlflow },
    services: {},
  });
  return home;
}

test('--home naming a home never brought up stops the command at once, before anything connects', async () => {
  await withStackEnv(async (dir) => {
    const empty = path.join(dir, 'never-up');
    const before = process.env.TEMPORAL_ADDRESS;
    for (const args of [
      ['sweep', 'status', 'smoke-20260101-000000-ab12', '--home', empty],
      ['compare', 'smoke-20260101-000000-ab12', '--home', empty],
    ]) {
      const r = await failureOf(args);
      assert.equal(r.code, EXIT.usage, r.message);
      assert.ok(r.message.startsWith(`no stack was ever brought up in ${empty} (from --home`), r.message);
      assert.ok(r.ms < 2_000, `failed fast, not after a connection attempt (${r.ms} ms)`);
    }
    assert.equal(process.env.TEMPORAL_ADDRESS, before, 'nothing pointed elsewhere');
  });
});

test("a stack that does not answer is reported with --home's home and the address tried", async () => {
  await withStackEnv(async (dir) => {
    const ports = { temporal: await deadPort(), mlflow: await deadPort() };
    const home = stackHomeAt(dir, ports.temporal, ports.mlflow);
    // MIRL_HOME names another home: --home wins over it as over the variables.
    process.env.MIRL_HOME = stackHomeAt(path.join(dir, 'other'), 1, 2);
    const compare = await failureOf(['compare', 'smoke-20260101-000000-ab12', '--home', home]);
    assert.equal(compare.code, EXIT.failed, compare.message);
    assert.equal(
      compare.message,
      `cannot reach the MLflow server at http://127.0.0.1:${ports.mlflow} (stack home ${home}, from --home): ` +
        `start it with \`mirl up --home ${home}\`, or pass --home DIR / set MIRL_HOME to use another stack`,
    );
    const list = await failureOf(['sweep', 'list', '--home', home]);
    assert.equal(list.code, EXIT.failed);
    assert.match(list.message, new RegExp(`^cannot reach the Temporal server at 127\\.0\\.0\\.1:${ports.temporal} `));
    assert.ok(list.message.includes(`(stack home ${home}, from --home)`), list.message);
    for (const m of [compare.message, list.message]) assert.doesNotMatch(m, /Unreachable|Error:/);
  });
});
