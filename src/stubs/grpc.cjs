// Stands in for @grpc/grpc-js and @grpc/proto-loader in the bundle. dockerode requires them at
// load time for BuildKit sessions (image builds with registry auth), which docker-reclaim never
// opens; leaving them out saves most of the bundle and its start-up time.
function unused() {
  throw new Error('docker-reclaim does not bundle gRPC: BuildKit sessions are not supported');
}
module.exports = new Proxy({}, { get: () => unused });
