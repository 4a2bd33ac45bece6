#!/usr/bin/env node
// Headless Chromium WHIP publisher for chromium_whip.py (Playwright, system Chromium; the
// playwright-core of tests/e2e/node_modules).
//
// Loads whip.html from the WHIP server (same origin as --whip-url, a loopback origin: a secure
// context that Chromium's Local Network Access lets reach loopback), which fetches its ICE
// server from turnpike's /turn-credentials (HTTPS, cross-origin: CORS), publishes the fake
// camera with iceTransportPolicy 'relay' over the turns: URL only, and POSTs its offer to
// --whip-url. Only the credential endpoint and the WHIP server are let through.
//
// Protocol with the Python test (stdout lines / stdin):
//   DRIVER_PUBLISHED {json}   offer posted, answer applied
//   DRIVER_CONNECTED {json}   connectionState 'connected' (setupMs: createOffer -> connected)
//   DRIVER_ERROR {json}       failure (the page's event log is in it)
//   stdin "stop"              -> DRIVER_RESULT {json} (final getStats: selected pair, outbound
//                                video), DELETE of the WHIP resource, browser closed, exit 0
// A watchdog bounds the run (--timeout seconds, exit 1). The API key comes from the environment
// (TURNPIKE_E2E_API_KEY), not the command line.
//
// Usage: node chromium_whip.mjs --whip-url URL --creds-url URL [--chromium /usr/bin/chromium]
//          [--home DIR] [--profile DIR] [--timeout 70]

import {parseArgs} from 'node:util';
import {createInterface} from 'node:readline';

const {values: opts} = parseArgs({
  options: {
    'whip-url': {type: 'string'},
    'creds-url': {type: 'string'},
    'chromium': {type: 'string', default: '/usr/bin/chromium'},
    'home': {type: 'string'},
    'profile': {type: 'string'},
    'timeout': {type: 'string', default: '70'},
  },
  strict: true,
});
const apiKey = process.env.TURNPIKE_E2E_API_KEY || '';
if (!opts['whip-url'] || !opts['creds-url'] || !opts.profile || !apiKey) {
  console.error('chromium_whip: --whip-url, --creds-url, --profile and TURNPIKE_E2E_API_KEY are required');
  process.exit(2);
}
const t0 = Date.now();
const say = (...a) => console.log(`[chromium ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`, ...a);
const emit = (tag, obj) => console.log(`${tag} ${JSON.stringify(obj)}`);

let context = null;
let page = null;

async function cleanup() {
  if (context) {
    const c = context;
    context = null;
    await Promise.race([c.close().catch(() => {}), new Promise(r => setTimeout(r, 5000))]);
  }
}

async function pageEvents() {
  try {
    return await Promise.race([page.evaluate(() => ({events: window.whip.events,
      errors: window.whip.candidateErrors, candidates: window.whip.localCandidates})),
      new Promise(r => setTimeout(() => r(null), 3000))]);
  } catch (e) {
    return {unavailable: e.message.split('\n')[0]};
  }
}

const watchdog = setTimeout(async () => {
  emit('DRIVER_ERROR', {error: `watchdog: not finished within ${opts.timeout} s`, page: page && await pageEvents()});
  await cleanup();
  process.exit(1);
}, Number(opts.timeout) * 1000);

for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130], ['SIGHUP', 129]]) {
  process.on(sig, async () => {
    say(`terminated by ${sig}`);
    await cleanup();
    process.exit(code);
  });
}

async function main() {
  const {chromium} = await import('playwright-core');
  const env = {...process.env};
  delete env.TURNPIKE_E2E_API_KEY;
  if (opts.home) env.HOME = opts.home;  // NSS database with the test CA: $HOME/.pki/nssdb
  context = await chromium.launchPersistentContext(opts.profile, {
    executablePath: opts.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream=fps=30',
           '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
           '--disable-backgrounding-occluded-windows'],
    env,
    timeout: 30000,
    chromiumSandbox: false,
    handleSIGTERM: false, handleSIGINT: false, handleSIGHUP: false,
  });
  say(`browser up: Chromium ${context.browser() ? context.browser().version() : '?'} (HOME=${env.HOME})`);

  const pageUrl = new URL('/whip.html', opts['whip-url']).href;
  const creds = new URL(opts['creds-url']);
  const whipOrigin = new URL(opts['whip-url']).origin;
  await context.route('**/*', route => {
    const u = new URL(route.request().url());
    if ((u.origin === creds.origin && u.pathname === creds.pathname) || u.origin === whipOrigin) {
      return route.continue();
    }
    return route.abort('blockedbyclient');
  });
  page = context.pages()[0] || await context.newPage();
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') say(`console.${m.type()}: ${m.text()}`); });
  page.on('pageerror', e => say(`pageerror: ${e.message}`));
  await page.goto(pageUrl);

  let published;
  try {
    published = await page.evaluate(o => window.whip.publish(o),
      {credsUrl: opts['creds-url'], apiKey, whipUrl: opts['whip-url']});
  } catch (e) {
    emit('DRIVER_ERROR', {error: `publish: ${e.message.split('\n')[0]}`, page: await pageEvents()});
    return 1;
  }
  emit('DRIVER_PUBLISHED', published);

  const state = await page.waitForFunction(() => {
    const s = window.whip.pc.connectionState;
    return s === 'connected' || s === 'failed' || s === 'closed' ? s : null;
  }, null, {timeout: 30000, polling: 50}).then(h => h.jsonValue()).catch(() => 'timeout');
  if (state !== 'connected') {
    emit('DRIVER_ERROR', {error: `connectionState ${state}`, page: await pageEvents()});
    return 1;
  }
  const st = await page.evaluate(() => window.whip.stats());
  emit('DRIVER_CONNECTED', {setupMs: st.setupMs, credsMs: st.credsMs, pair: st.pair});

  // Keep publishing until the Python side has measured.
  const rl = createInterface({input: process.stdin});
  await new Promise(resolve => {
    rl.on('line', l => { if (l.trim() === 'stop') resolve(); });
    rl.on('close', resolve);
  });
  rl.close();
  const final = await page.evaluate(() => window.whip.stats());
  await page.evaluate(() => window.whip.stop()).catch(() => {});
  const events = (await page.evaluate(() => window.whip.events).catch(() => []));
  emit('DRIVER_RESULT', {...final, events});
  return 0;
}

let rc = 1;
try {
  rc = await main();
} catch (e) {
  emit('DRIVER_ERROR', {error: String(e.stack || e).slice(0, 2000), page: page && await pageEvents()});
  rc = 1;
}
clearTimeout(watchdog);
await cleanup();
say(`done (exit ${rc})`);
process.exit(rc);
