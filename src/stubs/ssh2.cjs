// Stands in for ssh2 in the bundle. docker-modem requires it at load time for ssh:// engines,
// which docker-reclaim refuses before it makes a client (connect.ts says how to forward a socket
// instead); leaving it out takes over a quarter of the bundle, and its start-up time, away.
class Client {
  constructor() {
    throw new Error('docker-reclaim does not bundle ssh2: ssh:// engines are not supported');
  }
}
module.exports = { Client };
