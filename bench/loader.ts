/**
 * A load-generator child process (forked by bench/main.ts, IPC with the "advanced" serialization). It holds up to
 * ~19,000 client sockets bound to its own source address 127.0.0.x (20,000 open files per process, ~28k ephemeral
 * ports per address pair), speaks one of three wire protocols (natter, the raw floor, Socket.IO over engine.io v4),
 * and drives senders closed-loop (W in flight, a message completes when its echo arrives) or open-loop (fixed or
 * Poisson rate, each message stamped with its *intended* send time).
 *
 * Most connections count delivery frames by looking at one byte, without parsing; the sampled ones (1–5%) read the
 * stamp to record one-way latency (same machine, same clock: performance.timeOrigin + performance.now()) and the
 * sender's message number to count duplicates and reordering. Once joined, a connection that only counts (no
 * sender, not sampled, not tracking seqs) reads its socket through a FrameScanner (frame-counter.ts) instead of the
 * `ws` client's Receiver, which copies and decodes every frame (an A/B of two loaders in one W3 run: 13–21% less
 * loader CPU per delivery in the closed loop, 3–6% in the open loop, where the kernel's recv dominates).
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { FrameScanner } from './frame-counter.js';
import type { ConnSpec, LoaderCommand, LoaderReply, LoaderStats } from './types.js';
import { newClientMsgId } from '../client/outbox.js';

const clock = () => performance.timeOrigin + performance.now();
const send = (reply: LoaderReply) => process.send!(reply);

interface Conn {
  spec: ConnSpec;
  ws: WebSocket;
  inFlight: number;
  n: number;
  pendingAcks: Map<number, number> | undefined;
  last: Map<string, number> | undefined;
  lastSeq: number;
}

const conns: Conn[] = [];
let senders: Conn[] = [];
let localAddress: string | undefined;
let running: 'closed' | 'open' | null = null;
let window = 1;

let sent = 0;
let expected = 0;
let received = 0;
let duplicated = 0;
let reordered = 0;
let errors = 0;
let latencies: number[] = [];
let acks: number[] = [];
/** The intended send time of each entry of `acks` (same clock), so the coordinator can place the tail in time. */
let ackAt: number[] = [];
let sampleEvery = 1;
let sampleTick = 0;

const M = 0x6d; // 'm'
const STAMP = /t=([0-9.]+);i=([^"\\]+)\.(\d+)/;

function isDelivery(spec: ConnSpec, data: Buffer): boolean {
  if (spec.proto === 'sio') return data[0] === 0x34 && data[1] === 0x32 && data[4] === M;
  return data[9] === M; // {"type":"message"…
}

const SEQ = /"seq":(\d+)/;

function onFrame(c: Conn, data: Buffer): void {
  if (isDelivery(c.spec, data)) {
    if (c.spec.track) {
      const seq = Number(SEQ.exec(data.toString())?.[1] ?? 0);
      if (seq <= c.lastSeq) {
        duplicated++;
        return;
      }
      c.lastSeq = seq;
    }
    received++;
    if (c.spec.sample && ++sampleTick >= sampleEvery) {
      sampleTick = 0;
      const m = STAMP.exec(data.toString());
      if (m) {
        latencies.push(clock() - Number(m[1]));
        const tag = m[2]!;
        const n = Number(m[3]);
        const last = c.last!.get(tag) ?? 0;
        if (n === last) duplicated++;
        else if (n < last) reordered++;
        c.last!.set(tag, Math.max(n, last));
      }
    } else if (c.spec.sample) {
      // Unsampled frame at a sampling connection: still check duplicates (cheap: one regex).
      const m = STAMP.exec(data.toString());
      if (m) {
        const n = Number(m[3]);
        const last = c.last!.get(m[2]!) ?? 0;
        if (n === last) duplicated++;
        else if (n < last) reordered++;
        c.last!.set(m[2]!, Math.max(n, last));
      }
    }
    if (c.spec.sender) {
      c.inFlight--;
      if (running === 'closed') while (c.inFlight < window) sendOne(c, clock());
    }
    return;
  }
  if (c.spec.proto === 'sio') {
    if (data.length === 1 && data[0] === 0x32) c.ws.send('3'); // engine.io ping → pong
    return;
  }
  if (c.pendingAcks && data[9] === 0x72) {
    // natter reply (the ack, sent after commit)
    const m = /"id":"(\d+)","ok":(true|false)/.exec(data.toString());
    if (!m) return;
    const n = Number(m[1]);
    const at = c.pendingAcks.get(n);
    if (at === undefined) return;
    c.pendingAcks.delete(n);
    if (m[2] === 'true') {
      acks.push(clock() - at);
      ackAt.push(at);
    } else errors++;
  }
}

/**
 * Hands a counting-only connection's socket to a FrameScanner, if `ws`'s Receiver stands between frames with
 * nothing buffered (else the connection stays on it: the counts are the same either way). Pings are answered and a
 * close frame ends the connection, as the `ws` client would.
 */
function countRaw(c: Conn): void {
  const ws = c.ws as unknown as { _socket?: Socket; _receiver?: { _state: number; _bufferedBytes: number } };
  const socket = ws._socket;
  if (!socket || ws._receiver?._state !== 0 || ws._receiver._bufferedBytes !== 0 || c.ws.readyState !== c.ws.OPEN) return;
  socket.removeAllListeners('data');
  const scanner = new FrameScanner({
    onText: (head) => onFrame(c, head),
    onControl: (opcode, payload) => {
      if (opcode === 9) c.ws.pong(payload);
      else if (opcode === 8) c.ws.terminate();
    },
  });
  socket.on('data', (chunk: Buffer) => scanner.push(chunk));
}

function sendOne(c: Conn, stamp: number): void {
  const n = ++c.n;
  const body = `t=${stamp.toFixed(3)};i=${c.spec.tag}.${n}`;
  c.inFlight++;
  sent++;
  expected += c.spec.roomSize;
  if (c.spec.proto === 'natter') {
    c.pendingAcks!.set(n, stamp);
    c.ws.send(`{"type":"message.send","id":"${n}","room":"${c.spec.room}","body":"${body}","client_msg_id":"${newClientMsgId()}"}`);
  } else if (c.spec.proto === 'floor') c.ws.send(`{"body":"${body}"}`);
  else c.ws.send(`42["msg",{"room":"${c.spec.room}","body":"${body}"}]`);
}

function connect(spec: ConnSpec, lastSeq = 0): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const url =
      spec.proto === 'natter' ? `${spec.url}?token=${spec.token}` : spec.proto === 'floor' ? `${spec.url}/?room=${encodeURIComponent(spec.room)}` : `${spec.url}/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    const c: Conn = { spec, ws, inFlight: 0, n: 0, pendingAcks: spec.proto === 'natter' && spec.sender ? new Map() : undefined, last: spec.sample ? new Map() : undefined, lastSeq };
    const timer = setTimeout(() => fail(new Error('connect/join timed out')), 60_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    ws.once('error', fail);
    ws.once('close', (code, reason) => fail(new Error(`closed ${code} ${reason.toString()}`)));
    let stage = 0;
    const ready = () => {
      clearTimeout(timer);
      ws.removeAllListeners('error');
      ws.removeAllListeners('close');
      ws.removeAllListeners('message');
      ws.on('error', () => undefined);
      ws.on('message', (data: Buffer) => onFrame(c, data));
      // After the Receiver's turn: the frame that made us ready may not be the last of its chunk.
      if (!spec.sender && !spec.sample && !spec.track) setImmediate(() => countRaw(c));
      resolve(c);
    };
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (spec.proto === 'floor') return ready();
      if (spec.proto === 'natter') {
        if (stage === 0 && text.startsWith('{"type":"hello"')) {
          stage = 1;
          ws.send(JSON.stringify({ type: 'room.join', id: 'j', room: spec.room, since: spec.track && lastSeq > 0 ? lastSeq : 1 << 30 }));
        } else if (stage === 1 && text.includes('"id":"j"')) {
          if (!text.includes('"ok":true')) return fail(new Error(`join failed: ${text}`));
          ready();
        }
        return;
      }
      // Socket.IO: engine.io open, then namespace connect with auth, then join with an ack.
      if (stage === 0 && text.startsWith('0')) {
        stage = 1;
        ws.send(`40${JSON.stringify({ token: spec.token })}`);
      } else if (stage === 1 && text.startsWith('40')) {
        stage = 2;
        ws.send(`420["join",${JSON.stringify(spec.room)}]`);
      } else if (stage === 1 && text.startsWith('44')) fail(new Error(`socket.io connect refused: ${text}`));
      else if (stage === 2 && text.startsWith('430')) ready();
      else if (text === '2') ws.send('3');
    });
  });
}

async function openAll(specs: ConnSpec[], concurrency: number): Promise<{ ok: number; failed: number; firstError?: string }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (next < specs.length) {
      const spec = specs[next++]!;
      try {
        const c = await connect(spec);
        conns.push(c);
        if (spec.sender) senders.push(c);
        ok++;
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker));
  return { ok, failed, ...(firstError ? { firstError } : {}) };
}

function runOpen(rate: number, seconds: number, poisson: boolean): Promise<void> {
  // One merged schedule for all local senders: message k at t0 + k/rate (or a Poisson process of that rate),
  // to a sender picked round-robin (or at random: independent Poisson streams per sender).
  return new Promise((resolve) => {
    if (senders.length === 0 || rate <= 0) return void setTimeout(resolve, seconds * 1000);
    const t0 = clock();
    const end = t0 + seconds * 1000;
    let next = t0;
    let k = 0;
    const tick = () => {
      const t = clock();
      while (next <= t && next < end) {
        const c = poisson ? senders[Math.floor(Math.random() * senders.length)]! : senders[k++ % senders.length]!;
        if (c.ws.readyState === c.ws.OPEN) sendOne(c, next);
        next += poisson ? -Math.log(1 - Math.random()) * (1000 / rate) : 1000 / rate;
      }
      if (t < end) setTimeout(tick, 1);
      else {
        running = null;
        resolve();
      }
    };
    running = 'open';
    tick();
  });
}

function stats(): LoaderStats {
  return { sent, expected, received, duplicated, reordered, errors, connections: conns.length };
}

process.on('message', (raw: LoaderCommand) => {
  void (async () => {
    switch (raw.cmd) {
      case 'init':
        localAddress = raw.localAddress;
        sampleEvery = raw.sampleEvery;
        return send({ cmd: 'ready' });
      case 'open':
        return send({ cmd: 'opened', ...(await openAll(raw.specs, raw.concurrency)) });
      case 'closed':
        window = raw.window;
        running = 'closed';
        for (const c of senders) while (c.inFlight < window) sendOne(c, clock());
        setTimeout(() => {
          running = null;
          send({ cmd: 'done' });
        }, raw.seconds * 1000);
        return;
      case 'open-loop':
        await runOpen(raw.rate, raw.seconds, raw.poisson);
        return send({ cmd: 'done' });
      case 'room-size':
        for (const c of senders) c.spec.roomSize = raw.size;
        return send({ cmd: 'stats', stats: stats() });
      case 'stats':
        return send({ cmd: 'stats', stats: stats() });
      case 'collect': {
        const reply: LoaderReply = { cmd: 'collected', stats: stats(), latencies: Float64Array.from(latencies), acks: Float64Array.from(acks), ackAt: Float64Array.from(ackAt) };
        sent = expected = received = duplicated = reordered = errors = 0;
        latencies = [];
        acks = [];
        ackAt = [];
        for (const c of senders) {
          c.inFlight = 0;
          c.pendingAcks?.clear();
        }
        return send(reply);
      }
      case 'storm': {
        // Reconnect storm: every receiving connection dropped at once, then reconnected and resumed from its seq.
        const t0 = performance.now();
        const victims = conns.filter((c) => !c.spec.sender);
        for (const c of victims) c.ws.terminate();
        const reconnectMs: number[] = [];
        let failed = 0;
        let firstError: string | undefined;
        let next = 0;
        await Promise.all(Array.from({ length: Math.min(raw.concurrency, victims.length) }, async () => {
          while (next < victims.length) {
            const old = victims[next++]!;
            try {
              const c = await connect(old.spec, old.lastSeq);
              c.last = old.last;
              conns[conns.indexOf(old)] = c;
              reconnectMs.push(performance.now() - t0);
            } catch (err) {
              failed++;
              firstError ??= (err as Error).message;
            }
          }
        }));
        return send({ cmd: 'stormed', dropped: victims.length, failed, ...(firstError ? { firstError } : {}), reconnectMs: Float64Array.from(reconnectMs) });
      }
      case 'close-all':
        for (const c of conns) c.ws.terminate();
        conns.length = 0;
        senders = [];
        return send({ cmd: 'closed-all' });
      case 'exit':
        process.exit(0);
    }
  })().catch((err: Error) => send({ cmd: 'error', message: err.stack ?? err.message }));
});
setInterval(() => send({ cmd: 'tick', sent, received }), 250).unref();
process.on('disconnect', () => process.exit(0));
