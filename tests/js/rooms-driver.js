// Drives real socket.io-client 2.x and 4.x sockets for the integration tests.
//
// stdin: one JSON command per line
//   {"op":"connect","client":"a","version":2|4,"url":"http://127.0.0.1:PORT","transports":["polling","websocket"]}
//     optional: "query":{"token":…} (in the URL, either version), "auth":{"token":…} (v4's CONNECT)
//   {"op":"emit","client":"a","event":"room-join","args":["r1"]}
//   {"op":"burst","client":"a","room":"r1","target":"<id>","count":10000}   (signal-send seq 0..count-1)
//   {"op":"raw","client":"a","packet":"42[\"kick\"]"}                       (engine-level send)
//   {"op":"close","client":"a"}
// stdout: one JSON line per happening
//   {"client":"a","connected":"<socket id>","transport":"polling"}
//   {"client":"a","upgraded":"websocket"}
//   {"client":"a","event":"room-created","args":["r1"]}
//   {"client":"a","disconnected":"<reason>"}
//   {"client":"a","error":"<message>"}
"use strict";
const readline = require("readline");
const clients = new Map();
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function connect(cmd) {
  const lib = cmd.version === 2 ? require("sio2") : require("sio4");
  const socket = lib(cmd.url, {
    transports: cmd.transports || ["polling", "websocket"],
    reconnection: false,
    forceNew: true,
    timeout: 10000,
    ...(cmd.query ? { query: cmd.query } : {}),
    ...(cmd.auth ? { auth: cmd.auth } : {}),
  });
  const name = cmd.client;
  clients.set(name, socket);
  // The engine exists from the manager's "open"; an upgrade may finish before "connect".
  socket.io.on("open", () => {
    socket.io.engine.on("upgrade", (t) => out({ client: name, upgraded: t.name }));
    socket.io.engine.on("upgradeError", (e) => out({ client: name, upgradeError: String(e && e.message || e) }));
  });
  socket.on("connect", () => {
    out({ client: name, connected: socket.id, transport: socket.io.engine.transport.name });
  });
  socket.on("connect_error", (e) => out({ client: name, error: String(e && e.message || e) }));
  socket.on("disconnect", (reason) => out({ client: name, disconnected: String(reason) }));
  const events = ["room-exists", "room-not-exists", "not-in-room", "room-created", "room-joined",
    "room-left", "target-not-found", "error", "signal-receive", "client-joined", "client-left"];
  for (const event of events) {
    socket.on(event, (...args) => out({ client: name, event, args }));
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  const socket = clients.get(cmd.client);
  switch (cmd.op) {
    case "connect": connect(cmd); break;
    case "emit": socket.emit(cmd.event, ...cmd.args); break;
    case "burst":
      for (let seq = 0; seq < cmd.count; seq++) {
        socket.emit("signal-send", cmd.room, cmd.target, { candidate: { seq } });
      }
      out({ client: cmd.client, sent: cmd.count });
      break;
    case "emit-ack":
      socket.emit(cmd.event, ...cmd.args, (...args) => out({ client: cmd.client, acked: cmd.event, args }));
      break;
    case "raw": socket.io.engine.write(cmd.packet); break;
    case "binary": socket.io.engine.write(Buffer.from(cmd.bytes)); break;
    case "close": socket.close(); break;
    default: out({ error: "unknown op " + cmd.op });
  }
});
rl.on("close", () => process.exit(0));
