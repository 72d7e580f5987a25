// Bundling shim for pg's lib/stream.js: pg asks at load whether it runs in a Cloudflare Worker by building
// a `new Response(...)`, which makes Node load its whole fetch stack (undici: ~40 ms at every CLI call that
// uses the database). The CLI runs on Node only: its plain sockets, as pg uses them there.
module.exports = {
  getStream() {
    const net = require("node:net");
    return new net.Socket();
  },
  getSecureStream(options) {
    const tls = require("node:tls");
    return tls.connect(options);
  },
};
