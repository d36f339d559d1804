// Real WebRTC in headless Chromium (Debian's `chromium`, driven by playwright-core) against a
// switchboard `signals` m2m room: a publisher page sends a WebAudio tone (no camera needed)
// through the server's media plane; a viewer page WATCHes it and counts the audio packets it
// receives (getStats). Then the publisher leaves and the viewer's connection must end at once.
// Prints how long answer → connected took on each side (the figure of the issue).
//
// Usage: node media-browser.js <publisher ws url> <viewer ws url> <apart: 0|1> <m2m|a2m>
// With apart=1 the two pages must be served by different nodes (told apart by the
// x-switchboard-node header of their WebSocket handshakes); the viewer reconnects until so.
// Once the viewer page hears the tone, it prints `{"room": …}` and waits for a line on stdin
// (meanwhile the test watches the same publisher from its own client); then the publisher
// leaves. Prints one JSON line of figures and exits 0, or prints why and exits 1.

const { withBrowser, nodeOf } = require('./pages');

const [publisherUrl, viewerUrl, apart, channel] = process.argv.slice(2);
const ROOM = `b${process.pid}`;

// What runs in each page: a signals session over WebSocket and one RTCPeerConnection.
const PAGE = `
window.session = async (url, user, ch) => {
  const ws = new WebSocket(url);
  const inbox = [];
  let waiting = null;
  ws.onmessage = (e) => { inbox.push(JSON.parse(e.data)); if (waiting) waiting(); };
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = () => fail(new Error('ws failed')); });
  const ss = { userId: user, sessionId: user + '1', category: 'stream', host: 'Web', deviceId: 'chromium' };
  const s = {
    ws, user,
    send(action, data) { ws.send(JSON.stringify({ action, data: { ch, ss, rid: '${ROOM}', ...data } })); },
    async ack(name, ms = 10000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const i = inbox.findIndex((m) => m.s === name && 'c' in m);
        if (i >= 0) return inbox.splice(i, 1)[0];
        if (Date.now() > deadline) throw new Error('no ' + name + ' ack; got ' + JSON.stringify(inbox));
        await new Promise((ok) => { waiting = ok; setTimeout(ok, 100); });
      }
    },
  };
  window.s = s;
  return true;
};

window.publish = async () => {
  const s = window.s;
  s.send('join', { s: 'JOIN', op: { roomCreating: true }, ve: false, ae: true });
  const joined = await s.ack('JOIN');
  if (joined.c !== 200) throw new Error('JOIN: ' + JSON.stringify(joined));
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  const out = audio.createMediaStreamDestination();
  tone.connect(out);
  tone.start();
  const pc = new RTCPeerConnection();
  out.stream.getTracks().forEach((t) => pc.addTrack(t, out.stream));
  pc.onicecandidate = (e) => e.candidate && s.send('iceCandidate',
    { s: 'ICE', to: { userId: s.user, sessionId: s.user + '1' }, sdp: e.candidate.candidate });
  await pc.setLocalDescription(await pc.createOffer());
  s.send('offer', { s: 'OFFER', sdp: pc.localDescription.sdp });
  const answer = await s.ack('OFFER');
  if (answer.c !== 200) throw new Error('OFFER: ' + JSON.stringify(answer));
  const sent = performance.now();
  await pc.setRemoteDescription({ type: 'answer', sdp: answer.b.sdp });
  if (!(await window.until(() => pc.connectionState === 'connected', 10000))) {
    throw new Error('the uplink never connected: ' + pc.connectionState);
  }
  window.pc = pc;
  return performance.now() - sent;
};

window.watch = async (publisher) => {
  const s = window.s;
  s.send('join', { s: 'JOIN' });
  const joined = await s.ack('JOIN');
  if (joined.c !== 200) throw new Error('JOIN: ' + JSON.stringify(joined));
  const to = { userId: publisher, sessionId: publisher + '1' };
  s.send('watch', { s: 'WATCH', to });
  const watching = await s.ack('WATCH');
  if (watching.c !== 200) throw new Error('WATCH: ' + JSON.stringify(watching));
  const pc = new RTCPeerConnection();
  pc.onicecandidate = (e) => e.candidate && s.send('iceCandidate', { s: 'ICE', to, sdp: e.candidate.candidate });
  await pc.setRemoteDescription({ type: 'offer', sdp: watching.b.pps[0].sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  const sent = performance.now();
  s.send('answer', { s: 'ANSWER', to, sdp: pc.localDescription.sdp });
  if (!(await window.until(() => pc.connectionState === 'connected', 10000))) {
    throw new Error('the downlink never connected: ' + pc.connectionState);
  }
  window.pc = pc;
  return performance.now() - sent;
};

window.received = async () => {
  let packets = 0;
  (await window.pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') packets = r.packetsReceived;
  });
  return packets;
};

window.leave = () => window.s.send('leave', { s: 'LEAVE' });
`;

async function main() {
  await withBrowser('switchboard media test', async (newPage) => {
    const page = () => newPage([PAGE]);
    // Connects page `p`'s session; the node that answered the handshake.
    const connect = (p, url, user) => nodeOf(p,
      () => p.evaluate(([url, user, ch]) => window.session(url, user, ch), [url, user, channel]));

    const pub = await page();
    const publisherNode = await connect(pub, publisherUrl, 'pub');
    const uplink = await pub.evaluate(() => window.publish());

    const view = await page();
    let viewerNode = await connect(view, viewerUrl, 'view');
    for (let tries = 0; apart === '1' && viewerNode === publisherNode; tries++) {
      if (tries > 30) throw new Error('the balancer never sent the viewer to another node');
      await view.evaluate(() => window.s.ws.close());
      viewerNode = await connect(view, viewerUrl, 'view');
    }
    const downlink = await view.evaluate(() => window.watch('pub'));
    const heard = await view.evaluate(async () => {
      await window.until(async () => (await window.received()) >= 50, 15000);
      return window.received();
    });
    if (heard < 50) throw new Error(`the viewer received ${heard} audio packets`);
    console.log(JSON.stringify({ room: ROOM }));
    const input = require('readline').createInterface({ input: process.stdin });
    await new Promise((ok) => input.once('line', ok));
    input.close();

    // The publisher leaves: the server closes the viewer's connection at once (a DTLS
    // close_notify: Chromium's DTLS transport is closed; its ICE state would only follow once
    // consent checks fail, seconds later), and no packet arrives after that.
    const left = Date.now();
    await pub.evaluate(() => window.leave());
    const closed = await view.evaluate(() =>
      window.until(() => window.pc.getReceivers()[0].transport.state === 'closed', 2000));
    if (!closed) throw new Error('the viewer\'s DTLS transport is still open 2 s after its publisher left');
    const endedAfterMs = Date.now() - left;
    const after = await view.evaluate(async () => {
      // Packets already in flight and stats a moment old settle first.
      await new Promise((ok) => setTimeout(ok, 300));
      const before = await window.received();
      await new Promise((ok) => setTimeout(ok, 500));
      return (await window.received()) - before;
    });
    if (after > 0) throw new Error(`${after} packets arrived after the connection was closed`);
    console.log(JSON.stringify({
      publisherNode, viewerNode, heard,
      uplinkConnectedMs: Math.round(uplink), downlinkConnectedMs: Math.round(downlink),
      endedAfterMs,
    }));
  });
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
