// What the browser tests share: headless Chromium (Debian's `chromium`, driven by
// playwright-core), pages loaded with scripts, and which node answered a page's WebSocket
// handshake (its x-switchboard-node header, as DevTools reports it).

const { chromium } = require('playwright-core');

// `window.until(what, ms)`: waits for `await what()` to hold; whether it did in time.
const UNTIL = `
window.until = async (what, ms) => {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) return false;
    await new Promise((ok) => setTimeout(ok, 20));
  }
  return true;
};
`;

// Runs `body(newPage)` with a browser that plays audio without a gesture; `newPage(scripts)`
// opens a page titled `title` with `window.until` and `scripts` loaded.
async function withBrowser(title, body) {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
  });
  try {
    const context = await browser.newContext();
    const newPage = async (scripts) => {
      const p = await context.newPage();
      p.on('pageerror', (e) => console.error('page error:', e.message));
      await p.setContent(`<!doctype html><title>${title}</title>`);
      for (const content of [UNTIL, ...scripts]) await p.addScriptTag({ content });
      const cdp = await context.newCDPSession(p);
      await cdp.send('Network.enable');
      p.nodes = [];
      cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
        const headers = Object.fromEntries(
          Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
        p.nodes.push(headers['x-switchboard-node']);
      });
      return p;
    };
    return await body(newPage);
  } finally {
    await browser.close();
  }
}

// Runs `open()` (which makes page `p` open a WebSocket); the node that answered it.
async function nodeOf(p, open) {
  const seen = p.nodes.length;
  await open();
  // DevTools reports the handshake's headers on its own schedule.
  for (let waited = 0; p.nodes.length === seen; waited += 10) {
    if (waited > 5000) throw new Error('no handshake response seen');
    await new Promise((ok) => setTimeout(ok, 10));
  }
  const node = p.nodes[p.nodes.length - 1];
  if (!node) throw new Error('the handshake response names no node');
  return node;
}

module.exports = { withBrowser, nodeOf };
