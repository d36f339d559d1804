// Checks a running docker-compose cluster (deploy/docker-compose.yml) through its balancer, as
// clients and an operator would: every dialect connects; clients on different nodes reach each
// other; a node stopped with `docker stop` closes its clients with 1001 while new clients go on
// to the other nodes without stalling; the balancer restarts and serves while that node is
// down; the node, started again, takes clients again.
//
// Run by deploy/test.sh, which brings the cluster up and tears it down:
//   LB=127.0.0.1:8080 COMPOSE='["docker-compose","-p","p","-f","deploy/docker-compose.yml"]' \
//     node tests/js/deploy-check.js
"use strict";
const { execFileSync } = require("child_process");
const http = require("http");
const WebSocket = require("ws");

const LB = process.env.LB || "127.0.0.1:8080";
const COMPOSE = JSON.parse(process.env.COMPOSE);
const PATIENCE = 10000;
/** How long a new client may take to connect while a node is down. */
const STALL = 2000;

const say = (...args) => console.log("check:", ...args);
const fail = (why) => {
  console.error("check: FAILED:", why);
  process.exit(1);
};
const compose = (...args) =>
  execFileSync(COMPOSE[0], [...COMPOSE.slice(1), ...args], { encoding: "utf8" }).trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens a WebSocket to `path` through the balancer: the socket, the node that took it, and
 *  how long it took. */
function open(path) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const ws = new WebSocket(`ws://${LB}${path}`);
    let node;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${path}: no answer within ${PATIENCE} ms`));
    }, PATIENCE);
    ws.on("upgrade", (res) => (node = res.headers["x-switchboard-node"]));
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`${path}: HTTP ${res.statusCode}`));
    });
    ws.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    ws.on("open", () => {
      clearTimeout(timer);
      ws.inbox = [];
      ws.waiters = [];
      ws.on("message", (data) => {
        const text = data.toString();
        const waiter = ws.waiters.shift();
        if (waiter) waiter(text);
        else ws.inbox.push(text);
      });
      ws.closed = new Promise((r) => ws.on("close", (code) => r(code)));
      resolve({ ws, node, ms: Date.now() - started });
    });
  });
}

/** The next text message on `ws`. */
function next(ws) {
  if (ws.inbox.length) return Promise.resolve(ws.inbox.shift());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message in time")), PATIENCE);
    ws.waiters.push((text) => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

/** GETs `path` through the balancer: its status. */
function status(path) {
  return new Promise((resolve, reject) => {
    http.get(`http://${LB}${path}`, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on("error", reject);
  });
}

const DIALECTS = {
  cmd: "/cmd",
  signals: "/signals",
  rooms: "/socket.io/?EIO=4&transport=websocket",
};

async function main() {
  if ((await status("/metrics")) !== 404) fail("/metrics is published through the balancer");
  if ((await status("/readyz")) !== 404) fail("/readyz is published through the balancer");

  // Every dialect, on every node (round-robin spreads six clients over three nodes).
  const clients = [];
  for (const [dialect, path] of Object.entries(DIALECTS)) {
    for (let i = 0; i < 6; i++) {
      const c = await open(path);
      c.dialect = dialect;
      clients.push(c);
      if (dialect === "rooms") {
        const opened = await next(c.ws);
        if (!opened.startsWith("0{")) fail(`rooms: open packet ${opened}`);
        c.ws.send("40");
        const ack = await next(c.ws);
        if (!ack.startsWith("40{")) fail(`rooms: connect ack ${ack}`);
      }
    }
  }
  const nodes = [...new Set(clients.map((c) => c.node))].sort();
  say(`${clients.length} clients on nodes ${nodes.join(", ")}`);
  if (nodes.length !== 3) fail(`expected three nodes, saw ${nodes}`);

  // Clients on two different nodes reach each other (cmd notify through Redis).
  const cmd = clients.filter((c) => c.dialect === "cmd");
  const a = cmd[0];
  const b = cmd.find((c) => c.node !== a.node);
  a.ws.send(JSON.stringify({ cmd: "sId", sId: "deploy-a" }));
  b.ws.send(JSON.stringify({ cmd: "sId", sId: "deploy-b" }));
  await sleep(200);
  a.ws.send(JSON.stringify({ cmd: "notify", opponentId: "deploy-b", type: "ring" }));
  for (;;) {
    const m = JSON.parse(await next(b.ws));
    if (m.cmd === "notify") {
      if (m.opponentId !== "deploy-a") fail(`notify from ${m.opponentId}`);
      break;
    }
  }
  say(`cmd: ${a.node} -> ${b.node} notify delivered`);

  // Stop one node: its clients are told "going away", new clients go elsewhere at once.
  const victim = "node1";
  const gone = clients.filter((c) => c.node === victim);
  const container = compose("ps", "-q", victim);
  say(`stopping ${victim} (${gone.length} clients on it)`);
  const stopping = new Promise((resolve, reject) => {
    const { execFile } = require("child_process");
    execFile("docker", ["stop", container], (e) => (e ? reject(e) : resolve()));
  });
  const codes = await Promise.all(gone.map((c) => c.ws.closed));
  gone.forEach((c, i) => {
    // Engine.IO has no close codes; the others must say 1001.
    if (c.dialect !== "rooms" && codes[i] !== 1001) fail(`${c.dialect} closed with ${codes[i]}`);
  });
  say(`${victim}'s clients closed with ${[...new Set(codes)].join(", ")}`);
  let worst = 0;
  const deadline = Date.now() + 15000;
  let fresh = 0;
  let stopped = false;
  stopping.then(() => (stopped = true));
  // New clients while the node drains, then while it is down.
  while (!stopped || fresh < 30) {
    if (Date.now() > deadline && stopped) break;
    const c = await open(DIALECTS.cmd);
    worst = Math.max(worst, c.ms);
    if (c.node === victim) fail(`a new client reached ${victim} while it was stopping`);
    c.ws.close();
    fresh++;
  }
  await stopping;
  say(`${fresh} new clients while ${victim} stopped; slowest connect ${worst} ms`);
  if (worst > STALL) fail(`a new client waited ${worst} ms (over ${STALL} ms)`);

  // The balancer, restarted while a node is down, starts and serves (it resolves no names).
  execFileSync("docker", ["restart", compose("ps", "-q", "lb")]);
  const lbBack = Date.now() + 30000;
  for (;;) {
    const up = await status("/healthz").catch(() => 0);
    if (up === 200) break;
    if (Date.now() > lbBack) fail("the balancer did not come back while a node was down");
    await sleep(200);
  }
  const after = await open(DIALECTS.cmd);
  if (after.node === victim) fail(`a client reached ${victim} while it was stopped`);
  after.ws.close();
  say(`the balancer restarted with ${victim} down and serves`);

  // Start it again: once healthy, the balancer sends it clients again.
  execFileSync("docker", ["start", container]);
  const healthy = Date.now() + 60000;
  for (;;) {
    const health = execFileSync("docker", ["inspect", "-f", "{{.State.Health.Status}}", container], {
      encoding: "utf8",
    }).trim();
    if (health === "healthy") break;
    if (Date.now() > healthy) fail(`${victim} not healthy after a restart: ${health}`);
    await sleep(500);
  }
  const back = Date.now() + 30000;
  for (;;) {
    const c = await open(DIALECTS.cmd);
    c.ws.close();
    if (c.node === victim) break;
    if (Date.now() > back) fail(`${victim} took no client after its restart`);
    await sleep(100);
  }
  say(`${victim} restarted and takes clients again`);
  for (const c of clients) c.ws.terminate();
  say("OK");
}

main().catch((e) => fail(e.stack || String(e)));
