// The set-up every fault and multi-host scenario shares: its world (a local stack, a
// cluster of hosts) started before the file's tests, then what polls it (workers), and
// stopped after them, also when the workers never came up, so a failed start cannot leave
// servers behind that keep the suite from finishing.
import { after, before } from 'node:test';

export function scenario<W extends { stop(): Promise<void> }>(
  start: () => Promise<W>,
  ready: (world: W) => Promise<unknown> = async () => {},
): void {
  let world: W | undefined;
  before(async () => {
    world = await start();
    await ready(world);
  });
  after(async () => {
    await world?.stop();
  });
}
