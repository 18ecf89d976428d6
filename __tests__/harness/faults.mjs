// Fault injection for the e2e tests: an engine that accepts connections and never answers. (To act
// mid-run, e.g. kill the engine once removal has begun, runAction's onLine hands over each line.)
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * A unix socket server in `dir` that accepts every connection, reads what it is sent and never
 * writes a byte back: a hung engine.
 * @param {string} dir
 * @returns {Promise<import('./faults.d.mts').HungEngine>}
 */
export async function startHungEngine(dir) {
  const path = join(dir, 'hung.sock');
  const sockets = new Set();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.resume(); // swallow the request, answer nothing
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(undefined));
  });
  server.unref();
  return {
    path,
    address: `unix://${path}`,
    get connections() {
      return connections;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    }
  };
}
