// The real mediasoup-client 2.4.12 with the real protoo-client 3.0.3 (both from npm, bundled
// for the page with esbuild) in headless Chromium (Debian's `chromium`, driven by
// playwright-core) against switchboard's `mediasoup` dialect: a producer page sends a WebAudio
// tone (no microphone needed) and a canvas's video (no camera needed) on one transport
// through the server's media plane; a consumer page consumes both, counts the audio packets
// it receives and the video frames it decodes (getStats of its RTCPeerConnection), and both
// pages get the server's stats reports of their producer and consumer. Then the
// producer closes its producer (the consumer's consumer must close) and leaves the room (the
// consumer's peer must close).
//
// Usage: node mediasoup-browser.js <producer ws base> <consumer ws base> <apart: 0|1>
// (a base is `ws://host:port`). With apart=1 the two pages must be served by different nodes
// (told apart by the x-switchboard-node header of their WebSocket handshakes); the consumer
// reconnects until so. Prints one JSON line of figures and exits 0, or prints why and exits 1.

const esbuild = require('esbuild');
const { withBrowser, nodeOf } = require('./pages');

const [producerBase, consumerBase, apart] = process.argv.slice(2);
const ROOM = `ms${process.pid}`;

// The clients, as an app bundles them.
const BUNDLE = esbuild.buildSync({
  stdin: {
    contents: "window.mediasoupClient = require('mediasoup-client');\n" +
      "window.protooClient = require('protoo-client');\n",
    resolveDir: __dirname,
  },
  bundle: true,
  write: false,
  platform: 'browser',
  format: 'iife',
  // As browserify gave it, which these clients' era was bundled with.
  define: { global: 'window' },
  logLevel: 'error',
}).outputFiles[0].text;

// Every RTCPeerConnection the page makes, for getStats.
const RECORD_PCS = `
window.pcs = [];
const Native = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) { const pc = new Native(...args); window.pcs.push(pc); return pc; };
window.RTCPeerConnection.prototype = Native.prototype;
Object.setPrototypeOf(window.RTCPeerConnection, Native);
`;

// A mediasoup Room carried over a protoo Peer, as mediasoup-demo v2 carries it.
const PAGE = `
window.connect = async (url) => {
  const peer = new protooClient.Peer(new protooClient.WebSocketTransport(url));
  await new Promise((ok, fail) => {
    peer.on('open', ok);
    peer.on('failed', () => fail(new Error('protoo could not connect to ' + url)));
  });
  window.peer = peer;
};

window.join = async (name) => {
  if (!mediasoupClient.isDeviceSupported()) throw new Error('mediasoup-client: device not supported');
  const room = new mediasoupClient.Room({ requestTimeout: 8000 });
  const peer = window.peer;
  room.on('request', (request, callback, errback) => {
    peer.send('mediasoup-request', request).then(callback).catch((e) => errback(e.toString()));
  });
  room.on('notify', (notification) => peer.notify('mediasoup-notification', notification).catch(() => {}));
  peer.on('notification', (n) => { if (n.method === 'mediasoup-notification') room.receiveNotification(n.data); });
  window.room = room;
  window.events = [];
  const peers = await room.join(name, { page: name });
  return { peers: peers.map((p) => p.name), handler: mediasoupClient.getDeviceInfo().flag };
};

window.produce = async () => {
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  const out = audio.createMediaStreamDestination();
  tone.connect(out);
  tone.start();
  const transport = window.room.createTransport('send', { media: 'out' });
  const producer = window.room.createProducer(out.stream.getAudioTracks()[0], {}, { source: 'tone' });
  await producer.send(transport);
  window.producer = producer;
  // And video on the same transport: a canvas that changes every frame.
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  const draw = canvas.getContext('2d');
  let n = 0;
  setInterval(() => {
    n += 1;
    draw.fillStyle = 'hsl(' + (n * 7 % 360) + ', 80%, 50%)';
    draw.fillRect(0, 0, 320, 240);
    draw.fillStyle = 'white';
    draw.fillText(String(n), 10 + n % 280, 120);
  }, 40);
  const video = window.room.createProducer(canvas.captureStream(25).getVideoTracks()[0], {}, { source: 'canvas' });
  await video.send(transport);
  window.video = video;
  return producer.id;
};

window.consume = async () => {
  const room = window.room;
  const transport = room.createTransport('recv', { media: 'in' });
  const take = (consumer) => {
    window.consumer = consumer;
    consumer.on('close', () => window.events.push('consumer closed'));
    consumer.receive(transport).then(() => window.events.push('receiving'))
      .catch((e) => window.events.push('receive failed: ' + e));
  };
  const watch = (peer) => {
    peer.on('close', () => window.events.push('peer closed'));
    peer.on('newconsumer', take);
    peer.consumers.forEach(take);
  };
  room.peers.forEach(watch);
  room.on('newpeer', watch);
};

// Turns the server's stats reports on for \`source\` (a producer or a consumer); the packet
// count of the first report that counts any.
window.reported = (source) => new Promise((ok, fail) => {
  source.on('stats', (stats) => {
    const packets = stats.length ? stats[0].packetCount : 0;
    if (packets > 0) { source.disableStats(); ok(packets); }
  });
  source.enableStats(200);
  setTimeout(() => fail(new Error('no stats report counted a packet')), 5000);
});

// Audio packets received; or, of \`kind\` 'video', video frames decoded.
window.received = async (kind = 'audio') => {
  let count = 0;
  for (const pc of window.pcs) {
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === kind) {
        count += kind === 'audio' ? r.packetsReceived : (r.framesDecoded || 0);
      }
    });
  }
  return count;
};
`;

async function main() {
  await withBrowser('switchboard mediasoup test', async (newPage) => {
    const page = () => newPage([RECORD_PCS, BUNDLE, PAGE]);
    // Connects page `p` as peer `name`; the node that answered the handshake.
    const connect = (p, base, name) => {
      const url = `${base}/mediasoup?roomId=${ROOM}&peerName=${name}`;
      return nodeOf(p, () => p.evaluate((url) => window.connect(url), url));
    };

    const prod = await page();
    const producerNode = await connect(prod, producerBase, 'producer');
    const joined = await prod.evaluate(() => window.join('producer'));
    const started = Date.now();
    await prod.evaluate(() => window.produce());
    const producedMs = Date.now() - started;

    const cons = await page();
    let consumerNode = await connect(cons, consumerBase, 'consumer');
    for (let tries = 0; apart === '1' && consumerNode === producerNode; tries++) {
      if (tries > 30) throw new Error('the balancer never sent the consumer to another node');
      await cons.evaluate(() => window.peer.close());
      consumerNode = await connect(cons, consumerBase, 'consumer');
    }
    const seenPeers = await cons.evaluate(() => window.join('consumer'));
    if (JSON.stringify(seenPeers.peers) !== '["producer"]') {
      throw new Error('the consumer sees ' + JSON.stringify(seenPeers.peers));
    }
    await cons.evaluate(() => window.consume());
    const heard = await cons.evaluate(async () => {
      await window.until(async () => (await window.received()) >= 50, 15000);
      return window.received();
    });
    if (heard < 50) {
      const events = await cons.evaluate(() => window.events);
      throw new Error(`the consumer received ${heard} audio packets; events: ${JSON.stringify(events)}`);
    }

    const decoded = await cons.evaluate(async () => {
      await window.until(async () => (await window.received('video')) >= 25, 15000);
      return window.received('video');
    });
    if (decoded < 25) throw new Error(`the consumer decoded ${decoded} video frames`);

    // The server's stats reports count what went through it, both ways.
    const producerReported = await prod.evaluate(() => window.reported(window.producer));
    const consumerReported = await cons.evaluate(() => window.reported(window.consumer));

    // The producer closes: the consumer's consumer closes. It leaves: the peer closes.
    await prod.evaluate(() => window.producer.close());
    const consumerClosed = await cons.evaluate(() =>
      window.until(() => window.events.includes('consumer closed'), 5000));
    if (!consumerClosed) throw new Error('the consumer was not closed with its producer');
    await prod.evaluate(() => window.room.leave());
    const peerClosed = await cons.evaluate(() =>
      window.until(() => window.events.includes('peer closed'), 5000));
    if (!peerClosed) throw new Error('the producer\'s peer was not closed when it left');
    console.log(JSON.stringify({
      producerNode, consumerNode, handler: joined.handler, heard, producedMs,
      producerReported, consumerReported, decoded,
    }));
  });
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
