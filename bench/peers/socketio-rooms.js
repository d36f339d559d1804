// The socket.io baseline: seed 003's room protocol (room-create, room-join, signal-send) on a
// plain socket.io 4 server, the way its users would write it, optionally clustered through
// @socket.io/redis-adapter. Started by switchboard-bench; not part of switchboard.
//
//   node socketio-rooms.js PORT [REDIS_UNIX_SOCKET]
//
// Prints "listening PORT" once ready.
"use strict";
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const redisSocket = process.argv[3];

async function main() {
  // Pings far apart: the load generator does not answer them during a run.
  const http = require("http").createServer();
  const io = new Server(http, {
    transports: ["websocket"],
    pingInterval: 600000,
    pingTimeout: 600000,
  });
  if (redisSocket) {
    const { createClient } = require("redis");
    const { createAdapter } = require("@socket.io/redis-adapter");
    const pub = createClient({ socket: { path: redisSocket } });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub));
  }
  io.on("connection", (socket) => {
    socket.on("room-create", async (room) => {
      const members = (await io.in(room).fetchSockets()).map((s) => s.id);
      if (members.length > 0) return socket.emit("room-exists", room);
      socket.join(room);
      socket.emit("room-created", room);
    });
    socket.on("room-join", async (room) => {
      const members = (await io.in(room).fetchSockets()).map((s) => s.id);
      if (members.length === 0) return socket.emit("room-not-exists", room);
      socket.join(room);
      socket.to(room).emit("client-joined", room, socket.id);
      socket.emit("room-joined", room, members[0], [...members, socket.id]);
    });
    socket.on("signal-send", (room, target, data) => {
      if (!socket.rooms.has(room)) return socket.emit("not-in-room", room);
      io.to(target).emit("signal-receive", room, socket.id, data);
    });
  });
  // Only once the port is bound: the load generator connects as soon as it reads this.
  await new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, "127.0.0.1", resolve);
  });
  console.log(`listening ${port}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
