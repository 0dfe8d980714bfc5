// Debian's PostgreSQL (15 here) as MLflow's backend store on the control host: a fresh cluster (initdb)
// in the test's temp dir, run as an ordinary process of the `postgres` user (the server
// refuses to run as root) and listening on control's bridge address only. stop() and
// start() keep the data, which is how a test restarts the database under MLflow.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chown, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { serverProcess, type ServerProcess } from '../support/processes.js';
import { IP, run, type Host } from './netns.js';

/** The newest Debian PostgreSQL (scripts/setup-hosts.sh installs one when none is there). */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length)
    throw new Error(`no PostgreSQL under ${root}: run \`bash scripts/setup-hosts.sh\` (as root) to install it`);
  return path.join(root, versions[0], 'bin');
}
const PORT = 5432;
const OS_USER = 'postgres';

export interface Postgres {
  host: Host;
  port: number;
  /** postgresql+psycopg2://user:password@host:port/<database> */
  uri(database: string): string;
  /** Fast shutdown (open sessions are ended, as an operator's restart would). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server; the temp dir it lives in is the caller's to remove. */
  close(): Promise<void>;
  log(): Promise<string>;
}

/** argv run as the postgres user, without a forking wrapper in between (runuser would turn SIGINT into SIGTERM). */
const asPostgres = (argv: string[]) => [
  'setpriv',
  `--reuid=${OS_USER}`,
  `--regid=${OS_USER}`,
  '--init-groups',
  ...argv,
];

function ids(): { uid: number; gid: number } {
  return { uid: Number(run(['id', '-u', OS_USER])), gid: Number(run(['id', '-g', OS_USER])) };
}

/**
 * Creates the cluster under `dir` (which the postgres user must be able to traverse),
 * starts it on `host` and creates `databases`, owned by `user`, reachable from
 * `clients` (addresses) with `password`.
 */
export async function startPostgres(
  host: Host,
  dir: string,
  user: string,
  password: string,
  databases: string[],
  clients: string[],
): Promise<Postgres> {
  const bin = process.env.MIRL_PG_BIN ?? postgresBin();
  const root = path.join(dir, 'postgres');
  const data = path.join(root, 'data');
  const socket = path.join(root, 'socket');
  const { uid, gid } = ids();
  await mkdir(socket, { recursive: true });
  for (const d of [root, socket]) await chown(d, uid, gid);
  run(
    asPostgres([
      path.join(bin, 'initdb'),
      '-D',
      data,
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--no-instructions',
    ]),
  );
  const hba = clients.map((a) => `host ${databases.join(',')} ${user} ${a}/32 scram-sha-256`).join('\n');
  await appendFile(path.join(data, 'pg_hba.conf'), `\n# mirl multi-host tests: MLflow on control\n${hba}\n`);
  const logPath = path.join(root, 'server.log');
  await writeFile(logPath, '');
  const [exe, ...args] = [
    IP,
    'netns',
    'exec',
    host.netns,
    ...asPostgres([
      path.join(bin, 'postgres'),
      '-D',
      data,
      '-c',
      `listen_addresses=${host.address}`,
      '-p',
      String(PORT),
      '-k',
      socket,
    ]),
  ];
  const server: ServerProcess = serverProcess({
    name: 'postgres',
    exe,
    args,
    logPath,
    ready: () => accepting(bin, host.address),
    readyTimeoutMs: 60_000,
  });
  await server.start();
  const psql = (sql: string) =>
    run(
      [
        IP,
        'netns',
        'exec',
        host.netns,
        path.join(bin, 'psql'),
        '-h',
        socket,
        '-p',
        String(PORT),
        '-U',
        'postgres',
        '-v',
        'ON_ERROR_STOP=1',
        '-qAt',
      ],
      sql,
    );
  psql(
    `CREATE ROLE "${user}" LOGIN PASSWORD '${password}';\n` +
      databases.map((d) => `CREATE DATABASE "${d}" OWNER "${user}";`).join('\n'),
  );
  return {
    host,
    port: PORT,
    uri: (database) =>
      `postgresql+psycopg2://${user}:${encodeURIComponent(password)}@${host.address}:${PORT}/${database}`,
    stop: async () => {
      run(asPostgres([path.join(bin, 'pg_ctl'), 'stop', '-D', data, '-m', 'fast', '-w']));
      await server.kill();
    },
    start: () => server.start(),
    close: server.kill,
    log: server.log,
  };
}

const execFileAsync = promisify(execFile);

async function accepting(bin: string, address: string): Promise<boolean> {
  try {
    await execFileAsync(path.join(bin, 'pg_isready'), ['-h', address, '-p', String(PORT), '-t', '2']);
    return true;
  } catch {
    return false;
  }
}
