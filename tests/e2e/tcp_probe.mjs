#!/usr/bin/env node
// TCP connect probe: prints the outcome and exits 0 (connected), 2 (timeout: no answer at all,
// e.g. a firewall dropping SYNs) or 1 (refused / unreachable / other error).
//
// Usage: node tcp_probe.mjs HOST PORT TIMEOUT_MS
//        node tcp_probe.mjs --listen HOST PORT    (accepts and closes connections until killed)

import net from 'node:net';

const args = process.argv.slice(2);
if (args[0] === '--listen') {
  const [, host, port] = args;
  const srv = net.createServer(c => c.destroy());
  srv.on('error', e => { console.log(`listen error: ${e.code || e.message}`); process.exit(1); });
  srv.listen(Number(port), host, () => console.log(`listening on ${host}:${port}`));
} else {
  const [host, port, timeoutStr] = args;
  const timeoutMs = Number(timeoutStr || 3000);
  const t0 = Date.now();
  const sock = net.connect({host, port: Number(port)});
  const done = (code, text) => { console.log(text); sock.destroy(); process.exit(code); };
  const timer = setTimeout(() => done(2, `timeout: no TCP answer from ${host}:${port} within ${timeoutMs} ms`),
                           timeoutMs);
  sock.on('connect', () => { clearTimeout(timer); done(0, `connected to ${host}:${port} in ${Date.now() - t0} ms`); });
  sock.on('error', e => { clearTimeout(timer); done(1, `error: ${e.code || e.message} after ${Date.now() - t0} ms`); });
}
