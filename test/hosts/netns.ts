// Hosts for the multi-host suite: one Linux network namespace per host, each joined to
// a bridge in the root namespace by a veth pair, on a /24 nothing else on the machine
// routes. The root namespace keeps .1 on the bridge, so the test process can read
// Temporal and MLflow the way an operator's laptop would. Every name carries this
// process's pid, so parallel runs never collide and leftovers of a run that was killed
// can be told apart from a live run's and removed.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const IP = '/usr/sbin/ip';
const NETNS_PREFIX = 'mirl-h-';
/** Interface names (15 bytes at most): mh<pid>br for the bridge, mh<pid><n> for veths. */
const LINK_PATTERN = /^mh(\d+)(br|\d)$/;
export const TEMP_PREFIX = 'mirl-hosts-';

export interface Host {
  name: string;
  /** The namespace, e.g. mirl-h-1234-worker-a. */
  netns: string;
  address: string;
}

export interface Network {
  pid: number;
  bridge: string;
  /** The root namespace's address on the bridge. */
  gateway: string;
  hosts: Record<string, Host>;
}

export function run(argv: string[], input?: string): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input, timeout: 30_000 });
  if (r.status !== 0)
    throw new Error(
      `${argv.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? '')).trim()}`,
    );
  return r.stdout;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const vethOf = (pid: number, index: number) => `mh${pid}${index}`;

export const listNetns = (): string[] =>
  run([IP, 'netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);

/** Kills every process in `netns` (a deleted namespace lives on while one is in it), then deletes it. */
export function removeNetns(netns: string): void {
  const pids = spawnSync(IP, ['netns', 'pids', netns], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .filter(Boolean)
    .map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  spawnSync(IP, ['netns', 'del', netns]);
}

const pidOfNetns = (netns: string) => Number(new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(netns)?.[1]);

/** Removes namespaces, links and temp dirs of runs whose process is gone (a crash, SIGKILL). */
export function removeStale(): string[] {
  const removed: string[] = [];
  for (const netns of listNetns().filter((n) => n.startsWith(NETNS_PREFIX))) {
    const pid = pidOfNetns(netns);
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) {
      removeNetns(netns);
      removed.push(netns);
    }
  }
  const links: { ifname: string }[] = JSON.parse(run([IP, '-j', 'link', 'show']));
  for (const { ifname } of links) {
    const pid = Number(LINK_PATTERN.exec(ifname)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) {
      spawnSync(IP, ['link', 'del', ifname]);
      removed.push(ifname);
    }
  }
  for (const entry of readdirSync(os.tmpdir()).filter((e) => e.startsWith(TEMP_PREFIX))) {
    const pid = Number(entry.slice(TEMP_PREFIX.length).split('-')[0]);
    if (pid && pid !== process.pid && !alive(pid)) {
      rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
      removed.push(entry);
    }
  }
  return removed;
}

/** A 10.213.x.0/24 that no address or route on the machine touches yet. */
function freeSubnet(): string {
  const taken = run([IP, '-4', 'route', 'show', 'table', 'all']) + run([IP, '-4', 'addr', 'show']);
  for (let i = 0; i < 250; i++) {
    const prefix = `10.213.${(7 + process.pid + i) % 250}`;
    if (!taken.includes(`${prefix}.`)) return prefix;
  }
  throw new Error('no free 10.213.x.0/24 subnet for the test hosts');
}

/** Creates the bridge and one namespace per host name, with lo up and an address on the bridge. */
export function createNetwork(names: string[]): Network {
  const pid = process.pid;
  const subnet = freeSubnet();
  const network: Network = { pid, bridge: `mh${pid}br`, gateway: `${subnet}.1`, hosts: {} };
  run([IP, 'link', 'add', network.bridge, 'type', 'bridge']);
  run([IP, 'addr', 'add', `${network.gateway}/24`, 'dev', network.bridge]);
  run([IP, 'link', 'set', network.bridge, 'up']);
  names.forEach((name, i) => {
    const host: Host = { name, netns: `${NETNS_PREFIX}${pid}-${name}`, address: `${subnet}.${i + 2}` };
    const veth = vethOf(pid, i);
    run([IP, 'netns', 'add', host.netns]);
    network.hosts[name] = host;
    run([IP, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns]);
    run([IP, 'link', 'set', veth, 'master', network.bridge, 'up']);
    run([IP, '-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
    run([IP, '-n', host.netns, 'link', 'set', 'eth0', 'up']);
    run([IP, '-n', host.netns, 'link', 'set', 'lo', 'up']);
  });
  return network;
}

/** Everything createNetwork made: the namespaces (with their processes and veths) and the bridge. */
export function removeNetwork(network: Network): void {
  Object.values(network.hosts).forEach((host, i) => {
    removeNetns(host.netns);
    // A namespace whose processes were just killed outlives its name while the kernel
    // winds down their sockets, and its veth with it: deleting our end deletes both now.
    spawnSync(IP, ['link', 'del', vethOf(network.pid, i)], { stdio: 'ignore' });
  });
  spawnSync(IP, ['link', 'del', network.bridge]);
}

/**
 * The argv that runs `argv` on `host`: in its network namespace and, so that a worker's
 * identity (mirl-worker@<hostname>:<pid>) names the host, in a UTS namespace of its own.
 * Each step execs the next, so the spawned pid is the program's.
 */
export function onHost(host: Host, argv: string[]): string[] {
  return [
    IP,
    'netns',
    'exec',
    host.netns,
    'unshare',
    '--uts',
    '--',
    'sh',
    '-c',
    'hostname "$0" && exec "$@"',
    host.name,
    ...argv,
  ];
}

/**
 * The host's cable pulled, or plugged back: its veth's end on the bridge goes down, so
 * the host's packets go nowhere and its open connections hang, as on a dead link.
 */
export function setLink(network: Network, host: string, up: boolean): void {
  const index = Object.keys(network.hosts).indexOf(host);
  if (index < 0) throw new Error(`no host ${host}`);
  run([IP, 'link', 'set', vethOf(network.pid, index), up ? 'up' : 'down']);
}

const NFT_TABLE = 'mirl_partition';

/**
 * Drops everything `host` sends to `to`:`port` (a firewall rule inside the host's
 * namespace, nftables), or lifts the rule again: a one-sided partition, as when one
 * service of a cluster is unreachable from one machine and the rest is not.
 */
export function blockPort(host: Host, to: Host, port: number, blocked: boolean): void {
  const nft = (...args: string[]) => run([IP, 'netns', 'exec', host.netns, 'nft', ...args]);
  if (!blocked) return void nft('delete', 'table', 'inet', NFT_TABLE);
  nft('add', 'table', 'inet', NFT_TABLE);
  nft('add', 'chain', 'inet', NFT_TABLE, 'out', '{ type filter hook output priority 0 ; }');
  nft('add', 'rule', 'inet', NFT_TABLE, 'out', 'ip', 'daddr', to.address, 'tcp', 'dport', String(port), 'drop');
}
