// Whether a port can be taken, checked before starting a server so that a port held by
// some other program is reported by name instead of as a server that never got ready.
import net from 'node:net';

export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function checkPortNumber(port: number, flag: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RangeError(`${flag} must be a port number (1-65535), got ${port}`);
}
