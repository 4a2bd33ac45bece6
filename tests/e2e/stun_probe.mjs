#!/usr/bin/env node
// One STUN Binding request over UDP (RFC 8489), sent from wherever this runs (the root namespace
// or, via `ip netns exec`, the test's browser namespace). Retransmits at 0, 250, 750 ms ... until
// TIMEOUT_MS. Prints "response from HOST:PORT: XOR-MAPPED-ADDRESS a:p in N ms" and exits 0, or
// prints "timeout" and exits 2; 1 on other errors (e.g. ENETUNREACH, ICMP port unreachable).
//
// Usage: node stun_probe.mjs HOST PORT TIMEOUT_MS

import dgram from 'node:dgram';
import {randomBytes} from 'node:crypto';

const [host, portStr, timeoutStr] = process.argv.slice(2);
if (!host || !portStr) {
  console.error('usage: stun_probe.mjs HOST PORT [TIMEOUT_MS]');
  process.exit(2);
}
const port = Number(portStr);
const timeoutMs = Number(timeoutStr || 3000);
const COOKIE = 0x2112a442;

const tid = randomBytes(12);
const req = Buffer.alloc(20);
req.writeUInt16BE(0x0001, 0);  // Binding request
req.writeUInt16BE(0, 2);       // no attributes
req.writeUInt32BE(COOKIE, 4);
tid.copy(req, 8);

function parseMapped(msg) {
  let off = 20;
  const end = 20 + msg.readUInt16BE(2);
  while (off + 4 <= end && off + 4 <= msg.length) {
    const type = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 2);
    const v = msg.subarray(off + 4, off + 4 + len);
    if (type === 0x0020 && v[1] === 0x01) {
      const p = v.readUInt16BE(2) ^ (COOKIE >>> 16);
      const a = (v.readUInt32BE(4) ^ COOKIE) >>> 0;
      return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}:${p}`;
    }
    off += 4 + ((len + 3) & ~3);
  }
  return '?';
}

const sock = dgram.createSocket('udp4');
const t0 = process.hrtime.bigint();
const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
let timer = null;
let sent = 0;
const finish = (code, text) => {
  clearTimeout(timer);
  clearTimeout(deadline);
  console.log(text);
  sock.close();
  process.exit(code);
};
sock.on('message', (msg, rinfo) => {
  if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(tid)) {
    finish(0, `response from ${rinfo.address}:${rinfo.port}: XOR-MAPPED-ADDRESS ${parseMapped(msg)} ` +
              `in ${ms().toFixed(1)} ms (${sent} request(s) sent)`);
  }
});
sock.on('error', e => finish(1, `error: ${e.code || e.message} after ${ms().toFixed(0)} ms`));
let rto = 250;
const send = () => {
  sock.send(req, port, host, err => { if (err) finish(1, `send error: ${err.code || err.message}`); });
  sent++;
  timer = setTimeout(send, rto);
  rto *= 2;
};
const deadline = setTimeout(() => finish(2, `timeout: no response from ${host}:${port} within ${timeoutMs} ms ` +
                                             `(${sent} request(s) sent)`), timeoutMs);
sock.bind(0, send);
