#!/usr/bin/env node
// turnpike end-to-end browser test driver (Playwright, system Chromium, no downloaded browser).
//
// Opens two pages (two WebRTC peers) in one headless Chromium, both with
// iceTransportPolicy 'relay' and exactly one TURN server (--turn-url), relays signaling between
// them, and checks:
//   - with --credentials-url (the normal mode): each page FETCHES its ICE servers from
//     turnpiked's HTTPS credential endpoint with "Authorization: Bearer <--api-key>", as a web
//     app would (cross-origin from http://localhost, so with a real CORS preflight), keeps only
//     the turns: URLs, and that list must be exactly [--turn-url]; with --rest-secret too, the
//     minted credential must be base64(HMAC-SHA1(secret, username));
//   - both peers reach connectionState 'connected';
//   - the selected candidate pair's local candidate is a relay candidate with the expected
//     relayProtocol (--expect-relay-protocol, 'tls' for turns:...?transport=tcp) on both peers;
//   - DataChannel messages arrive both ways, complete and in order;
//   - the answerer decodes the offerer's 640x480 fake-camera video at >= --min-fps frames per
//     second (framesDecoded delta over a measured interval from getStats inbound-rtp).
// Prints the measured fps, the setup time (createOffer -> 'connected'), packetsLost /
// packetsReceived on the receiver, and the selected pair; exits 0 on success, 1 on failure,
// 2 on usage errors. A watchdog bounds the whole run (--timeout seconds).
//
// Usage: node browser_relay.mjs --turn-url turns:127.0.0.1:443?transport=tcp
//          (--credentials-url https://127.0.0.1:443/turn-credentials --api-key K [--rest-secret S]
//           | --username U --credential P | --rest-secret S)
//          [--expect-relay-protocol tls] [--launcher /path/to/exe]
//          [--home DIR] [--profile DIR] [--min-fps 10] [--measure-seconds 5] [--timeout 75]

import {readFileSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';
import {createHmac} from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  console.error(`browser_relay: ${msg}`);
  process.exit(2);
}

let opts;
try {
  ({values: opts} = parseArgs({
    options: {
      'turn-url': {type: 'string'},
      'username': {type: 'string'},
      'credential': {type: 'string'},
      'rest-secret': {type: 'string'},
      'credentials-url': {type: 'string'},
      'api-key': {type: 'string'},
      'rest-user': {type: 'string', default: 'e2e'},
      'chromium': {type: 'string', default: '/usr/bin/chromium'},
      'launcher': {type: 'string'},
      'home': {type: 'string'},
      'profile': {type: 'string'},
      'expect-relay-protocol': {type: 'string', default: 'tls'},
      'min-fps': {type: 'string', default: '10'},
      'warmup-seconds': {type: 'string', default: '3'},
      'measure-seconds': {type: 'string', default: '5'},
      'messages': {type: 'string', default: '50'},
      'timeout': {type: 'string', default: '75'},
      'label': {type: 'string', default: 'browser'},
      'verbose': {type: 'boolean', default: false},
    },
    strict: true,
  }));
} catch (e) {
  usage(e.message);
}

const turnUrl = opts['turn-url'] || usage('--turn-url is required');
let username = opts.username;
let credential = opts.credential;
const credentialsUrl = opts['credentials-url'];
if (credentialsUrl && !opts['api-key']) usage('--credentials-url needs --api-key');
if (credentialsUrl) {
  // Fetched by the pages; --rest-secret (if given) only verifies what they get.
} else if (opts['rest-secret']) {
  // TURN REST API credential: username "<expiry>:<user>", password base64(HMAC-SHA1(secret, username)).
  username = `${Math.floor(Date.now() / 1000) + 3600}:${opts['rest-user']}`;
  credential = createHmac('sha1', opts['rest-secret']).update(username).digest('base64');
}
if (!credentialsUrl && (!username || !credential)) {
  usage('give --credentials-url and --api-key, --username and --credential, or --rest-secret');
}
const minFps = Number(opts['min-fps']);
const warmupS = Number(opts['warmup-seconds']);
const measureS = Number(opts['measure-seconds']);
const messageCount = Number(opts.messages);
const timeoutS = Number(opts.timeout);
const expectProto = opts['expect-relay-protocol'];
const label = opts.label;

const t0 = Date.now();
const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
const say = (...a) => console.log(`[${label} ${elapsed()}s]`, ...a);

let browserContext = null;
let profileDir = opts.profile;
let ownProfile = false;
const pages = {};
const results = {checks: [], ok: true};

function check(cond, what, detail = '') {
  results.checks.push({ok: !!cond, what, detail});
  console.log(`  ${cond ? 'PASS' : 'FAIL'}  ${what}${detail ? ' — ' + detail : ''}`);
  if (!cond) results.ok = false;
  return !!cond;
}

async function dumpPages() {
  for (const [role, page] of Object.entries(pages)) {
    try {
      const ev = await page.evaluate(() => ({events: window.tp.events,
        errors: window.tp.candidateErrors, cands: window.tp.localCandidates,
        failures: window.tp.failures}));
      console.log(`---- ${role} page events ----`);
      for (const [t, text] of ev.events) console.log(`  ${String(t).padStart(6)} ms  ${text}`);
      if (ev.cands.length) console.log(`  local candidates: ${ev.cands.join(' | ')}`);
    } catch (e) {
      console.log(`---- ${role} page: events unavailable (${e.message.split('\n')[0]}) ----`);
    }
  }
}

async function cleanup() {
  if (browserContext) {
    const ctx = browserContext;
    browserContext = null;
    await Promise.race([ctx.close().catch(() => {}), new Promise(r => setTimeout(r, 5000))]);
  }
  if (ownProfile && profileDir) rmSync(profileDir, {recursive: true, force: true});
}

const watchdog = setTimeout(async () => {
  console.log(`FAIL: watchdog: the test did not finish within ${timeoutS} s`);
  await Promise.race([dumpPages(), new Promise(r => setTimeout(r, 3000))]);
  await cleanup();
  process.exit(1);
}, timeoutS * 1000);

const sleep = ms => new Promise(r => setTimeout(r, ms));

// Terminated from outside (the shell's trap, ctest): close the browser, then exit 128+signal.
for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130], ['SIGHUP', 129]]) {
  process.on(sig, async () => {
    console.log(`FAIL: terminated by ${sig}`);
    await cleanup();
    process.exit(code);
  });
}

async function main() {
  let chromium;
  try {
    ({chromium} = await import('playwright-core'));
  } catch (e) {
    console.log(`FAIL: cannot load playwright-core (${e.message}); run scripts/deps.sh`);
    return false;
  }
  if (!profileDir) {
    profileDir = mkdtempSync(join(tmpdir(), 'turnpike-e2e-profile-'));
    ownProfile = true;
  }
  const env = {...process.env};
  if (opts.home) env.HOME = opts.home;  // NSS database with the test CA: $HOME/.pki/nssdb

  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${profileDir}`,
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream=fps=30',
    // Two tabs run at once; keep neither throttled as a background tab.
    '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
  ];
  say(`launching ${opts.launcher || opts.chromium} (HOME=${env.HOME})`);
  // launchPersistentContext passes the (fresh) profile as --user-data-dir itself and refuses it
  // in args; headless: true makes Playwright add --headless. Both are filtered from our list.
  browserContext = await chromium.launchPersistentContext(profileDir, {
    executablePath: opts.launcher || opts.chromium,
    headless: true,
    args: args.filter(a => !a.startsWith('--user-data-dir=') && a !== '--headless'),
    env,
    timeout: 30000,
    chromiumSandbox: false,
    handleSIGTERM: false, handleSIGINT: false, handleSIGHUP: false,  // our handlers close it
  });
  const version = browserContext.browser() ? browserContext.browser().version() : '';
  say(`browser up ${version}`);

  // The page is served by Playwright's router, never over the network: in the netns scenario the
  // browser has no route to anything but the TURN server. http://localhost is a secure context.
  const pageHtml = readFileSync(join(here, 'peer.html'), 'utf8');
  const pageUrl = 'http://localhost/turnpike-e2e/peer.html';
  await browserContext.route('**/*', route => {
    if (route.request().url() === pageUrl) {
      return route.fulfill({status: 200, contentType: 'text/html; charset=utf-8', body: pageHtml});
    }
    return route.abort('blockedbyclient');
  });

  // Chromium's Local Network Access: a page whose address space is "public" (ours is served by
  // Playwright, not from an IP address) may reach loopback/private addresses (the test server:
  // 127.0.0.x, or 10.213.x.1 in the namespace scenario) only with the user's permission. Grant
  // it to the test page's origin alone, as the user of an intranet app would. A real deployment
  // (public page, public TURN server) never asks.
  if (credentialsUrl) {
    await browserContext.grantPermissions(['local-network-access'], {origin: new URL(pageUrl).origin});
  }

  const offerer = pages.offerer = browserContext.pages()[0] || await browserContext.newPage();
  const answerer = pages.answerer = await browserContext.newPage();
  for (const [role, page] of Object.entries(pages)) {
    page.on('console', m => { if (opts.verbose || m.type() === 'error') say(`${role} console.${m.type()}: ${m.text()}`); });
    page.on('pageerror', e => say(`${role} pageerror: ${e.message}`));
  }
  // Signaling: page -> driver (binding) -> other page, strictly in order per direction.
  const chains = {offerer: Promise.resolve(), answerer: Promise.resolve()};
  const other = {offerer: answerer, answerer: offerer};
  for (const [role, page] of Object.entries(pages)) {
    await page.exposeBinding('tpSignal', (_src, msg) => {
      if (msg.type === 'end-of-candidates') return true;
      chains[role] = chains[role].then(() => other[role].evaluate(m => window.tp.onSignal(m), msg))
        .catch(e => say(`signal ${role}->peer failed: ${e.message.split('\n')[0]}`));
      return true;
    });
    await page.goto(pageUrl);
  }
  // The pages are loaded: stop intercepting. With a route installed, Playwright answers CORS
  // preflights itself (permissively), so the credential fetch below would not test turnpiked's
  // CORS handling; without routes every request goes to the network as in a real browser (the
  // pages load nothing else).
  await browserContext.unroute('**/*');
  const secure = await offerer.evaluate(() => window.isSecureContext);
  if (!secure) {
    console.log('FAIL: page is not a secure context (getUserMedia unavailable)');
    return false;
  }

  const cfgs = {};
  if (credentialsUrl) {
    // Each page asks the credential endpoint itself, as each client of a real app would.
    for (const role of ['answerer', 'offerer']) {
      const f = await pages[role].evaluate(([u, k]) => window.tp.fetchIceServers(u, k),
                                           [credentialsUrl, opts['api-key']]);
      results.credentials = results.credentials || {};
      results.credentials[role] = {status: f.status, ms: f.ms !== undefined ? Math.round(f.ms) : null};
      say(`${role}: fetch ${credentialsUrl} from origin ${f.origin} -> ` +
          (f.status !== undefined ? `HTTP ${f.status} in ${f.ms.toFixed(0)} ms` : `error ${f.error}`));
      if (!check(f.ok && f.status === 200, `${role}: page fetched its ICE servers over HTTPS (CORS, bearer key)`,
                 f.ok ? `HTTP ${f.status}` : (f.error || `HTTP ${f.status}`))) {
        await dumpPages();
        return false;
      }
      say(`${role}: username ${f.username}, ttl ${f.ttl}, expiresAt ${f.expiresAt}, urls ${f.allUrls.join(' ')}`);
      check(/^application\/json/.test(f.contentType || '') && f.cacheControl === 'no-store',
            `${role}: credential response is JSON with Cache-Control: no-store`,
            `${f.contentType}; ${f.cacheControl}`);
      const kept = f.iceServers.flatMap(s => s.urls);
      check(f.iceServers.length === 1 && kept.length === 1 && kept[0] === turnUrl,
            `${role}: the only turns: URL returned is ${turnUrl}`, kept.join(' ') || 'none');
      const s = f.iceServers[0] || {};
      const m = /^(\d+):(.+)$/.exec(s.username || '');
      const now = Math.floor(Date.now() / 1000);
      check(m && Number(m[1]) > now + 60 && s.username === f.username,
            `${role}: username is "<expiry>:<label>" with the expiry in the future`,
            `${s.username} (now ${now})`);
      if (opts['rest-secret'] && s.username) {
        const expect = createHmac('sha1', opts['rest-secret']).update(s.username).digest('base64');
        check(s.credential === expect, `${role}: credential == base64(HMAC-SHA1(rest secret, username))`);
      }
      if (!results.ok) {
        await dumpPages();
        return false;
      }
      cfgs[role] = {iceServers: f.iceServers};
      username = s.username;
    }
  } else {
    cfgs.answerer = cfgs.offerer = {iceServers: [{urls: [turnUrl], username, credential}]};
  }
  say(`iceServers: ${turnUrl} (username ${username}), iceTransportPolicy relay`);
  await answerer.evaluate(c => window.tp.init('answerer', c), cfgs.answerer);
  await offerer.evaluate(c => window.tp.init('offerer', c), cfgs.offerer);

  // Wait for 'connected' on both sides (or a terminal failure).
  const connectTimeout = Math.max(5, Math.min(30, timeoutS - 25)) * 1000;
  const waitConnected = page => page.waitForFunction(() => {
    const s = window.tp.pc && window.tp.pc.connectionState;
    return s === 'connected' || s === 'failed' || s === 'closed' ? s : null;
  }, null, {timeout: connectTimeout, polling: 50}).then(h => h.jsonValue()).catch(() => 'timeout');
  const [stO, stA] = await Promise.all([waitConnected(offerer), waitConnected(answerer)]);
  const times = await offerer.evaluate(() => ({tOffer: window.tp.tOffer, tConnected: window.tp.tConnected}));
  const errorsO = await offerer.evaluate(() => window.tp.candidateErrors);
  const errorsA = await answerer.evaluate(() => window.tp.candidateErrors);
  for (const e of [...errorsO, ...errorsA]) {
    say(`icecandidateerror ${e.errorCode} ${e.errorText} (${e.url})`);
  }
  if (!check(stO === 'connected' && stA === 'connected', 'both peers connected through the relay',
             `offerer ${stO}, answerer ${stA}`)) {
    if (errorsO.some(e => e.errorCode === 701) || errorsA.some(e => e.errorCode === 701)) {
      console.log('  hint: 701 = the browser could not reach/handshake with the TURN server ' +
                  '(TLS certificate not trusted? listener down? firewall?)');
    }
    await dumpPages();
    return false;
  }
  const setupMs = times.tConnected - times.tOffer;
  results.setupMs = setupMs;
  say(`connected: setup ${setupMs.toFixed(0)} ms (createOffer -> 'connected' on the offerer)`);

  // Selected candidate pair on both peers.
  const pairs = {};
  for (const [role, page] of Object.entries(pages)) {
    const st = await page.evaluate(() => window.tp.stats());
    pairs[role] = st.pair;
  }
  const describePair = p => p && p.local && p.remote ? `local ${p.local.candidateType}/${p.local.relayProtocol ?? '-'} ` +
    `${p.local.address}:${p.local.port} (${p.local.protocol}) <-> remote ${p.remote.candidateType} ` +
    `${p.remote.address}:${p.remote.port} (${p.remote.protocol}), state ${p.state}, ` +
    `nominated ${p.nominated}, rtt ${p.currentRoundTripTime !== undefined ? (p.currentRoundTripTime * 1000).toFixed(1) + ' ms' : '?'}` : 'none';
  for (const role of ['offerer', 'answerer']) say(`${role} selected pair at connect: ${describePair(pairs[role])}`);

  // DataChannel both ways.
  const dcOpen = page => page.waitForFunction(() => window.tp.dc && window.tp.dc.readyState === 'open',
    null, {timeout: 10000, polling: 50}).then(() => true).catch(() => false);
  const open = (await dcOpen(offerer)) && (await dcOpen(answerer));
  if (check(open, 'DataChannel open on both peers')) {
    const big = 16 * 1024;
    const nO = await offerer.evaluate(([n, b]) => window.tp.sendMessages('offerer->answerer', n, b), [messageCount, big]);
    const nA = await answerer.evaluate(([n, b]) => window.tp.sendMessages('answerer->offerer', n, b), [messageCount, big]);
    const arrived = (page, n) => page.waitForFunction(n => window.tp.received.length >= n, n,
      {timeout: 10000, polling: 50}).then(() => true).catch(() => false);
    await Promise.all([arrived(answerer, nO), arrived(offerer, nA)]);
    const expected = (prefix, n, b) => [...Array(n).keys()].map(i => `${prefix} #${i}`)
      .concat(b > 0 ? [`${prefix} big:` + 'x'.repeat(b)] : []);
    const gotA = await answerer.evaluate(() => window.tp.received);
    const gotO = await offerer.evaluate(() => window.tp.received);
    const same = (got, exp) => got.length === exp.length && got.every((m, i) => m === exp[i]);
    check(same(gotA, expected('offerer->answerer', messageCount, big)),
          `offerer -> answerer: ${nO} messages (incl. one of ${big} bytes) complete and in order`,
          `${gotA.length} received`);
    check(same(gotO, expected('answerer->offerer', messageCount, big)),
          `answerer -> offerer: ${nA} messages (incl. one of ${big} bytes) complete and in order`,
          `${gotO.length} received`);
    await answerer.evaluate(() => window.tp.enableEcho());
    const rtts = [];
    for (let i = 0; i < 5; i++) rtts.push(await offerer.evaluate(() => window.tp.ping(3000)));
    const good = rtts.filter(r => r !== null);
    results.dcRttMs = good.length ? Math.min(...good) : null;
    check(good.length === rtts.length, 'DataChannel ping/pong round trips',
          `${good.length}/${rtts.length}, min ${results.dcRttMs !== null ? results.dcRttMs.toFixed(1) : '?'} ms`);
  }

  // Video: wait for the first decoded frame, warm up, then measure framesDecoded over an interval.
  const firstFrame = await answerer.waitForFunction(async () => {
    const s = await window.tp.stats();
    return s.inbound && s.inbound.framesDecoded > 0;
  }, null, {timeout: 10000, polling: 200}).then(() => true).catch(() => false);
  if (!check(firstFrame, 'answerer decodes video frames')) {
    await dumpPages();
    return false;
  }
  await sleep(warmupS * 1000);
  const s1 = await answerer.evaluate(() => window.tp.stats());
  await sleep(measureS * 1000);
  const s2 = await answerer.evaluate(() => window.tp.stats());
  const o2 = await offerer.evaluate(() => window.tp.stats());
  const dt = (s2.inbound.timestamp - s1.inbound.timestamp) / 1000;
  const fps = (s2.inbound.framesDecoded - s1.inbound.framesDecoded) / dt;
  results.fps = fps;
  results.inbound = s2.inbound;
  results.outbound = o2.outbound;
  results.packetsLost = s2.inbound.packetsLost;
  results.packetsReceived = s2.inbound.packetsReceived;
  check(fps >= minFps, `receiver decodes >= ${minFps} fps`,
        `${fps.toFixed(1)} fps (${s2.inbound.framesDecoded - s1.inbound.framesDecoded} frames in ${dt.toFixed(2)} s)`);
  check(s2.connectionState === 'connected' && o2.connectionState === 'connected',
        'both peers still connected after the measurement', `${o2.connectionState}/${s2.connectionState}`);

  // The selected pair, checked once media has flowed for a while (right after 'connected'
  // Chromium may still report the nominated pair as 'in-progress').
  const endPairs = {offerer: o2.pair, answerer: s2.pair};
  for (const role of ['offerer', 'answerer']) {
    const p = endPairs[role];
    // A selected pair can show 'in-progress' while a consent-freshness check (RFC 7675) is out;
    // the media measured above went through it.
    check(p && p.local && p.local.candidateType === 'relay' && p.local.relayProtocol === expectProto &&
          (p.state === 'succeeded' || p.state === 'in-progress') && p.nominated === true,
          `${role}: selected pair is nominated/succeeded and its local candidate is relay over ${expectProto}`,
          describePair(p));
    check(p && p.remote && p.remote.candidateType === 'relay',
          `${role}: the pair's remote candidate is the other peer's relay candidate`,
          p && p.remote ? p.remote.candidateType : 'none');
  }
  results.pair = {offerer: describePair(o2.pair), answerer: describePair(s2.pair)};

  const lossPct = results.packetsReceived + results.packetsLost > 0
    ? 100 * results.packetsLost / (results.packetsReceived + results.packetsLost) : 0;
  console.log('');
  console.log(`==== ${label} summary ====`);
  console.log(`  TURN server        : ${turnUrl}`);
  if (credentialsUrl) {
    console.log(`  ICE servers from   : ${credentialsUrl} (fetched by each page: ` +
      Object.entries(results.credentials).map(([r, c]) => `${r} HTTP ${c.status} in ${c.ms} ms`).join(', ') + ')');
  }
  console.log(`  browser            : Chromium ${version}`);
  console.log(`  setup time         : ${setupMs.toFixed(0)} ms (createOffer -> connectionState 'connected')`);
  console.log(`  selected pair      : offerer  ${results.pair.offerer}`);
  console.log(`                       answerer ${results.pair.answerer}`);
  console.log(`  video sent         : ${o2.outbound ? `${o2.outbound.frameWidth}x${o2.outbound.frameHeight}, encoder ${o2.outbound.encoderImplementation}, ` +
    `${o2.outbound.framesEncoded} frames encoded, quality limitation ${o2.outbound.qualityLimitationReason}` : '?'}`);
  console.log(`  video received     : ${s2.inbound.frameWidth}x${s2.inbound.frameHeight} ${s2.inbound.codec ?? ''}, ` +
    `decoder ${s2.inbound.decoderImplementation ?? '(not exposed)'}`);
  console.log(`  decoded fps        : ${fps.toFixed(1)} (framesDecoded delta over ${dt.toFixed(2)} s; minimum ${minFps})`);
  console.log(`  packets lost/recv  : ${results.packetsLost}/${results.packetsReceived} (${lossPct.toFixed(2)} % loss, ` +
    `nack ${s2.inbound.nackCount}, jitter ${(s2.inbound.jitter * 1000).toFixed(1)} ms)`);
  console.log(`  datachannel        : ${messageCount + 1} messages each way, RTT ${results.dcRttMs !== null && results.dcRttMs !== undefined ? results.dcRttMs.toFixed(1) + ' ms' : '?'}`);
  console.log(`  result             : ${results.ok ? 'PASS' : 'FAIL'}`);
  if (!results.ok) await dumpPages();
  console.log('E2E_RESULT ' + JSON.stringify({label, ok: results.ok, turnUrl, credentialsUrl: credentialsUrl || null,
    credentialFetch: results.credentials || null, setupMs: Math.round(setupMs),
    fps: Number(fps.toFixed(2)), packetsLost: results.packetsLost, packetsReceived: results.packetsReceived,
    pair: results.pair, dcRttMs: results.dcRttMs}));
  return results.ok;
}

let ok = false;
try {
  ok = await main();
} catch (e) {
  console.log(`FAIL: ${e.stack || e}`);
  await Promise.race([dumpPages(), sleep(3000)]);
  ok = false;
}
clearTimeout(watchdog);
await cleanup();
say(`done: ${ok ? 'PASS' : 'FAIL'}`);
process.exit(ok ? 0 : 1);
