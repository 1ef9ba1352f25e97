// The virtual board: the firmware under MicroPython (WASM), behind a serial-like TCP port
// that real `mpremote` drives, plus a JSON-lines control port for the keypad, bell, camera
// and clock. Started by tools/doorstep_tools/vboard.py, which passes one JSON argument:
//   {state, rom, virtual, tcp, control, host, clock, flashKb, heap, rawPaste, main}
// and reads JSON lines on our stdout: {"ready": {...}}, {"event": {...}}, {"log": "..."}.
// Closing our stdin (or SIGTERM/SIGINT) writes the flash back and exits.
//
// What a real ESP32 does and this board copies (see docs in vboard.py):
// - Ctrl-C interrupts the running program (the app); a soft reset starts a fresh VM that
//   keeps the flash and runs main only when the REPL is in friendly mode (main: the vboard's
//   own, board_rom/_vboard.py, or with "main": "flash" the flash's boot.py and main.py).
// - Raw-paste mode (what mpremote uses first) is implemented here with flow control, as the
//   WASM REPL has none; "rawPaste": false answers R\x00 ("not supported") instead.
//
// The flash is the folder `state`: loaded at power-on into the VM's in-memory filesystem
// (/flash) and mirrored back file by file (write temp + fsync + rename; only files whose
// bytes changed) after every REPL command and control command, before every reset, every
// 250 ms, and at exit.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";

const cfg = JSON.parse(process.argv[2] || "{}");
const STATE = path.resolve(cfg.state);
const BLOCK = 4096;
const CAPACITY = (cfg.flashKb || 2048) * 1024;
const TMP_SUFFIX = ".vboard-tmp";

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}
function log(msg) {
  emit({ log: msg });
}

// ---------------------------------------------------------------------------
// Only the newest VM may run (the loader keeps its state in globals). Timers and
// finalizers created for an older VM must never call into the new one: tag them with
// the generation that made them and drop them when it is gone.
let gen = 0;
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
globalThis.setTimeout = (fn, dt, ...args) => {
  const g = gen;
  return realSetTimeout(() => {
    if (g === gen) fn(...args);
  }, dt);
};
const RealFR = globalThis.FinalizationRegistry;
globalThis.FinalizationRegistry = class extends RealFR {
  constructor(cb) {
    const g = gen;
    super((v) => {
      if (g === gen) cb(v);
    });
  }
};

// ---------------------------------------------------------------------------
// Flash: a mirror of what was last written to STATE (path -> Buffer, plus directories).
const mirror = { files: new Map(), dirs: new Set() };

function loadState() {
  fs.mkdirSync(STATE, { recursive: true });
  const walk = (rel) => {
    for (const ent of fs.readdirSync(path.join(STATE, rel), { withFileTypes: true })) {
      const r = rel ? rel + "/" + ent.name : ent.name;
      if (ent.isDirectory()) {
        mirror.dirs.add(r);
        walk(r);
      } else if (ent.isFile()) {
        if (ent.name.endsWith(TMP_SUFFIX)) {
          fs.unlinkSync(path.join(STATE, r)); // an interrupted write-back: the old file is intact
          continue;
        }
        mirror.files.set(r, fs.readFileSync(path.join(STATE, r)));
      }
    }
  };
  walk("");
}

function vmTree(FS) {
  const files = new Map();
  const dirs = new Set();
  const walk = (rel) => {
    for (const n of FS.readdir("/flash" + (rel ? "/" + rel : ""))) {
      if (n === "." || n === "..") continue;
      const r = rel ? rel + "/" + n : n;
      const st = FS.stat("/flash/" + r);
      if (FS.isDir(st.mode)) {
        dirs.add(r);
        walk(r);
      } else {
        files.set(r, FS.readFile("/flash/" + r));
      }
    }
  };
  walk("");
  return { files, dirs };
}

function flashUsed() {
  // LittleFS-like accounting: whole blocks per file and directory, two for the superblock.
  if (!vm) return 0;
  let blocks = 2;
  const walk = (p) => {
    for (const n of vm.FS.readdir(p)) {
      if (n === "." || n === "..") continue;
      const st = vm.FS.stat(p + "/" + n);
      if (vm.FS.isDir(st.mode)) {
        blocks += 1;
        walk(p + "/" + n);
      } else {
        blocks += Math.max(1, Math.ceil(st.size / BLOCK));
      }
    }
  };
  walk("/flash");
  return blocks * BLOCK;
}

let syncTimer = null;
function syncNow() {
  if (!vm) return 0;
  let tree;
  try {
    tree = vmTree(vm.FS);
  } catch (e) {
    log("flash sync skipped: " + e.message);
    return 0;
  }
  let changed = 0;
  for (const d of [...tree.dirs].sort()) {
    if (!mirror.dirs.has(d)) {
      fs.mkdirSync(path.join(STATE, d), { recursive: true });
      mirror.dirs.add(d);
      changed++;
    }
  }
  for (const [rel, data] of tree.files) {
    const old = mirror.files.get(rel);
    if (old && old.length === data.length && Buffer.compare(old, data) === 0) continue;
    const target = path.join(STATE, rel);
    const fd = fs.openSync(target + TMP_SUFFIX, "w");
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(target + TMP_SUFFIX, target);
    mirror.files.set(rel, Buffer.from(data));
    changed++;
  }
  for (const rel of [...mirror.files.keys()]) {
    if (!tree.files.has(rel)) {
      try {
        fs.unlinkSync(path.join(STATE, rel));
      } catch (e) {
        if (e.code !== "ENOENT") throw e;
      }
      mirror.files.delete(rel);
      changed++;
    }
  }
  for (const d of [...mirror.dirs].sort().reverse()) {
    if (!tree.dirs.has(d)) {
      try {
        fs.rmSync(path.join(STATE, d), { recursive: true, force: true });
      } catch (e) {
        log("could not remove " + d + ": " + e.message);
      }
      mirror.dirs.delete(d);
      changed++;
    }
  }
  return changed;
}

function scheduleSync(ms = 30) {
  if (syncTimer) return;
  syncTimer = realSetTimeout(() => {
    syncTimer = null;
    syncNow();
  }, ms);
}

// ---------------------------------------------------------------------------
// The board's clock lives here so it survives soft resets (as the ESP32 RTC does).
// ms since power-on = real time elapsed + virtual time added by the control channel.
const clock = { powerOn: performance.now(), offset: 0, t0: null, ms0: 0, quality: "none" };

function clockMs() {
  return Math.floor(performance.now() - clock.powerOn) + clock.offset;
}
function powerOnClock() {
  clock.powerOn = performance.now();
  clock.offset = 0;
  clock.ms0 = 0;
  if (cfg.clock === "host") {
    clock.t0 = Math.floor(Date.now() / 1000);
    clock.quality = "ntp";
  } else if (typeof cfg.clock === "number") {
    clock.t0 = cfg.clock;
    clock.quality = "ntp";
  } else {
    clock.t0 = null;
    clock.quality = "none";
  }
}

// ---------------------------------------------------------------------------
// UART: one client at a time, like a serial port. Output with no client is dropped.
let uartClient = null;
let outBuf = [];
let outScheduled = false;
let outMuted = false;
let dropPrefix = null; // bytes the REPL prints that raw-paste mode must not show ("OK")

function uartWrite(bytes) {
  if (outMuted) return;
  for (const b of bytes) {
    if (dropPrefix && dropPrefix.length) {
      if (b === dropPrefix[0]) {
        dropPrefix = dropPrefix.subarray(1);
        continue;
      }
      dropPrefix = null;
    }
    outBuf.push(b);
  }
  if (!outScheduled) {
    outScheduled = true;
    setImmediate(flushOut);
  }
}
function uartWriteStr(s) {
  uartWrite(Buffer.from(s, "latin1"));
}
function flushOut() {
  outScheduled = false;
  if (!outBuf.length) return;
  const b = Buffer.from(outBuf);
  outBuf = [];
  if (uartClient && !uartClient.destroyed) uartClient.write(b);
}

// ---------------------------------------------------------------------------
// The VM
let vm = null;
let ready = false;
let rawMode = false; // the REPL's mode, followed from the control characters it is sent
let bootCause = "power_on";
let pendingReset = null;
let resetting = null;
const controlPending = new Map(); // request id -> {sock, gen, userId}

const host = {
  ms: () => String(clockMs()),
  set_ms: (v) => {
    clock.offset += Number(v) - clockMs();
  },
  clock: () => JSON.stringify({ t0: clock.t0, ms0: clock.ms0, quality: clock.quality }),
  clock_set: (j) => {
    const c = JSON.parse(j);
    clock.t0 = c.t0;
    clock.ms0 = c.ms0;
    clock.quality = c.quality;
  },
  flash_free: () => String(Math.max(0, CAPACITY - flashUsed())),
  flash_stat: () => JSON.stringify([CAPACITY / BLOCK, Math.max(0, CAPACITY - flashUsed()) / BLOCK]),
  urandom: (n) => crypto.randomBytes(Number(n)).toString("hex"),
  cause: () => bootCause,
  reset: (kind) => {
    pendingReset = String(kind);
    setImmediate(runPendingReset);
  },
  event: (j) => {
    emit({ event: JSON.parse(j) });
    broadcast(j);
    scheduleSync();
  },
  reply: (id, j) => {
    const p = controlPending.get(Number(id));
    if (!p) return;
    controlPending.delete(Number(id));
    const obj = JSON.parse(j);
    if (p.userId !== undefined) obj.id = p.userId;
    if (!p.sock.destroyed) p.sock.write(JSON.stringify(obj) + "\n");
    scheduleSync();
  },
  log: (s) => log(String(s)),
};

function writeTree(FS, root, files) {
  const mk = (p) => {
    try {
      FS.mkdir(p);
    } catch (e) {
      /* exists */
    }
  };
  mk(root);
  for (const d of [...files.dirs].sort()) mk(root + "/" + d);
  for (const [rel, data] of files.files) FS.writeFile(root + "/" + rel, data);
}

function romTree() {
  const files = new Map();
  const dirs = new Set();
  const walk = (dir, rel) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      if (ent.name === "__pycache__") continue;
      const r = rel ? rel + "/" + ent.name : ent.name;
      if (ent.isDirectory()) {
        dirs.add(r);
        walk(path.join(dir, ent.name), r);
      } else if (ent.name.endsWith(".py")) {
        files.set(r, fs.readFileSync(path.join(dir, ent.name)));
      }
    }
  };
  walk(cfg.rom, "");
  // The host's virtual board (VirtualBoard, VirtualKeypad, ...) is MicroPython-compatible:
  // it is part of this board's "ROM", not of its flash.
  dirs.add("doorstep_tools");
  dirs.add("doorstep_tools/virtual");
  files.set("doorstep_tools/__init__.py", Buffer.alloc(0));
  files.set("doorstep_tools/virtual/__init__.py", Buffer.alloc(0));
  files.set("doorstep_tools/virtual/board.py", fs.readFileSync(path.join(cfg.virtual, "board.py")));
  return { files, dirs };
}
const ROM = romTree();

function py(code) {
  try {
    vm.runPython(code);
    return true;
  } catch (e) {
    log("python: " + (e && e.message ? e.message : String(e)));
    return false;
  }
}

// Start a fresh VM. kind: "power" (power-on: clock restarts, UTC from cfg), "hard"
// (machine.reset: clock restarts, UTC kept), "soft" (soft reboot: everything but the
// VM's RAM survives). The REPL mode survives a soft reset only.
async function startVm(kind) {
  ready = false;
  if (vm) {
    syncNow();
    failPending("the board was reset before it answered");
  }
  gen++;
  if (syncTimer) {
    realClearTimeout(syncTimer);
    syncTimer = null;
  }
  vm = null;
  if (kind === "power") powerOnClock();
  if (kind === "hard") {
    // The RTC runs on through a reset; the uptime counter restarts.
    if (clock.t0 !== null) clock.t0 += Math.floor((clockMs() - clock.ms0) / 1000);
    clock.powerOn = performance.now();
    clock.offset = 0;
    clock.ms0 = 0;
  }
  if (kind !== "power" && clock.t0 !== null && cfg.clock !== "host") {
    // Kept through a reset but not re-checked: the firmware's "rtc" quality. (With --clock
    // host the board stands for one whose NTP works, so its time stays "ntp".)
    clock.quality = "rtc";
  }
  if (kind !== "soft") rawMode = false;
  bootCause = { power: "power_on", hard: "hard_reset", soft: "soft_reset" }[kind];
  if (kind === "soft") uartWriteStr("MPY: soft reboot\r\n");
  const m = await loadMicroPython({
    heapsize: cfg.heap || 2 * 1024 * 1024,
    linebuffer: false,
    stdout: (b) => uartWrite(b),
    stderr: (b) => uartWrite(b),
  });
  vm = m;
  writeTree(vm.FS, "/flash", mirror);
  writeTree(vm.FS, "/romfs", ROM);
  vm.registerJsModule("_vbhost", host);
  py("import sys\nsys.path.append('/romfs')\nimport _vboard\n_vboard.setup()\n");
  if (cfg.main === "flash") {
    // The flash's own boot.py and main.py, as the ESP32 runs them.
    py("_vboard.run_file('boot.py')\n");
    if (!rawMode) py("_vboard.run_file('main.py')\n");
  } else if (!rawMode) {
    // The ESP32's boot.py/main.py drive real pins: the vboard's own main runs the same App
    // on virtual hardware instead.
    py("_vboard.main()\n");
  }
  if (rawMode) {
    outMuted = true;
    vm.replInit();
    outMuted = false;
    vm.replProcessChar(0x01);
  } else {
    vm.replInit();
  }
  ready = true;
  emit({ event: { event: "boot", cause: bootCause, raw: rawMode } });
  broadcast(JSON.stringify({ event: "boot", cause: bootCause }));
  scheduleSync();
}

function reset(kind) {
  if (!resetting) {
    resetting = startVm(kind)
      .catch((e) => {
        log("the board failed to start: " + (e && e.stack ? e.stack : e));
        shutdown(1);
      })
      .finally(() => {
        resetting = null;
        if (pendingReset) runPendingReset();
        else pump(); // bytes that arrived while the board was restarting
      });
  }
  return resetting;
}

function runPendingReset() {
  if (!pendingReset || resetting) return;
  const kind = pendingReset;
  pendingReset = null;
  pending = Buffer.alloc(0); // bytes sent to a board that resets are lost, as on a UART
  paste = null;
  reset(kind);
}

// ---------------------------------------------------------------------------
// REPL input: control characters followed, raw-paste handled, soft resets caught.
let pending = Buffer.alloc(0);
let paste = null; // raw-paste transfer in progress: {chunks}
const WINDOW = 2048;

function interruptApp() {
  py("_vboard.interrupt()\n");
  failPending("the app was interrupted (Ctrl-C)");
}

function pump() {
  if (!vm || !ready || resetting) return;
  let i = 0;
  let ran = false;
  while (i < pending.length) {
    if (paste) {
      // Raw-paste data: everything up to Ctrl-D is the program.
      const end = pending.indexOf(0x04, i);
      const stop = end < 0 ? pending.length : end;
      const chunk = pending.subarray(i, stop);
      paste.chunks.push(Buffer.from(chunk));
      // Everything is taken at once, so grant another window for every piece that
      // arrives: the reply also carries the TCP ACK the sender's Nagle algorithm waits for.
      if (chunk.length) uartWrite([0x01]);
      i = stop;
      if (end < 0) break;
      i++; // the Ctrl-D
      uartWrite([0x04]); // end of data acknowledged; now compile and run as raw REPL would
      const code = Buffer.concat(paste.chunks);
      paste = null;
      dropPrefix = Buffer.from("OK");
      for (const b of code) vm.replProcessChar(b);
      const r = vm.replProcessChar(0x04);
      ran = true;
      if (r === 256 || pendingReset) {
        pending = pending.subarray(i);
        return afterExitRequest(r);
      }
      continue;
    }
    const c = pending[i];
    if (rawMode && c === 0x05) {
      // Ctrl-E A Ctrl-A: mpremote asks for raw-paste mode.
      if (pending.length - i < 3) break; // wait for the rest of the request
      if (pending[i + 1] === 0x41 && pending[i + 2] === 0x01) {
        i += 3;
        if (cfg.rawPaste === false) {
          uartWriteStr("R\x00");
        } else {
          uartWrite([0x52, 0x01, WINDOW & 0xff, WINDOW >> 8]);
          paste = { chunks: [] };
        }
        continue;
      }
    }
    i++;
    if (c === 0x03) interruptApp();
    if (!rawMode && c === 0x01) rawMode = true;
    else if (rawMode && c === 0x02) rawMode = false;
    const r = vm.replProcessChar(c);
    if (c === 0x04) ran = true;
    if (r === 256 || pendingReset) {
      pending = pending.subarray(i);
      return afterExitRequest(r);
    }
  }
  pending = pending.subarray(i);
  if (ran) scheduleSync();
}

function afterExitRequest(r) {
  // A soft reset (Ctrl-D, SystemExit) or machine.reset() from the code just run.
  flushOut();
  if (!pendingReset) pendingReset = "soft";
  runPendingReset();
}

// ---------------------------------------------------------------------------
// Control channel: JSON lines in, one reply per request; events pushed to every client.
const controlClients = new Set();
let nextReq = 0;

function broadcast(line) {
  for (const s of controlClients) if (!s.destroyed) s.write(line + "\n");
}

function failPending(msg) {
  for (const [id, p] of controlPending) {
    const obj = { ok: false, error: msg };
    if (p.userId !== undefined) obj.id = p.userId;
    if (!p.sock.destroyed) p.sock.write(JSON.stringify(obj) + "\n");
  }
  controlPending.clear();
}

async function control(sock, line) {
  let req;
  try {
    req = JSON.parse(line);
    if (typeof req !== "object" || req === null || Array.isArray(req)) throw new Error("not an object");
  } catch (e) {
    sock.write(JSON.stringify({ ok: false, error: "each line must be a JSON object: " + e.message }) + "\n");
    return;
  }
  const answer = (obj) => {
    if (req.id !== undefined) obj.id = req.id;
    sock.write(JSON.stringify(obj) + "\n");
  };
  if (req.reset !== undefined) {
    const kind = req.reset === true ? "hard" : String(req.reset);
    if (!["soft", "hard", "power"].includes(kind)) return answer({ ok: false, error: "reset must be soft, hard or power" });
    pendingReset = kind;
    if (resetting) await resetting;
    runPendingReset();
    if (resetting) await resetting;
    return answer({ ok: true, cause: bootCause });
  }
  while (!ready || resetting) await (resetting || new Promise((r) => realSetTimeout(r, 5)));
  if (req.sync) {
    return answer({ ok: true, changed: syncNow() });
  }
  const id = ++nextReq;
  controlPending.set(id, { sock, gen, userId: req.id });
  const strip = Object.assign({}, req);
  delete strip.id;
  if (!py("_vboard.control(" + id + ", " + JSON.stringify(JSON.stringify(strip)) + ")\n")) {
    controlPending.delete(id);
    answer({ ok: false, error: "the board could not take the command" });
  }
}

// ---------------------------------------------------------------------------
function listen(port, onConn) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer(onConn);
    srv.on("error", reject);
    srv.listen(port, cfg.host || "127.0.0.1", () => resolve(srv));
  });
}

let shuttingDown = false;
function shutdown(code = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  try {
    syncNow();
  } catch (e) {
    log("final flash write-back failed: " + e.message);
    code = code || 1;
  }
  process.exit(code);
}

async function mainJs() {
  loadState();
  powerOnClock();
  const uartSrv = await listen(cfg.tcp || 0, (sock) => {
    if (uartClient && !uartClient.destroyed) {
      sock.end("the virtual board's port is in use by another program\r\n");
      return;
    }
    uartClient = sock;
    sock.setNoDelay(true);
    sock.on("data", (d) => {
      pending = Buffer.concat([pending, d]);
      pump();
    });
    const gone = () => {
      if (uartClient === sock) uartClient = null;
    };
    sock.on("close", gone);
    sock.on("error", gone);
  });
  let ctlSrv = null;
  if (cfg.control !== undefined && cfg.control !== null) {
    ctlSrv = await listen(cfg.control, (sock) => {
      controlClients.add(sock);
      sock.setNoDelay(true);
      const rl = readline.createInterface({ input: sock, crlfDelay: Infinity });
      rl.on("error", () => controlClients.delete(sock)); // a client that vanished (ECONNRESET)
      let chain = Promise.resolve();
      rl.on("line", (line) => {
        if (!line.trim()) return;
        chain = chain.then(() => control(sock, line)).catch((e) => log("control: " + e.message));
      });
      const gone = () => controlClients.delete(sock);
      sock.on("close", gone);
      sock.on("error", gone);
    });
  }
  await reset("power");
  realSetTimeout(function tick() {
    scheduleSync(0);
    realSetTimeout(tick, 250);
  }, 250);
  emit({ ready: { repl: uartSrv.address().port, control: ctlSrv ? ctlSrv.address().port : null, state: STATE } });
}

process.on("uncaughtException", (e) => {
  log("the virtual board stopped on an error: " + (e && e.stack ? e.stack : e));
  shutdown(1); // the flash is written back first
});
process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));
process.stdin.on("end", () => shutdown(0));
process.stdin.on("error", () => shutdown(0));
process.stdin.resume();
mainJs().catch((e) => {
  log("the virtual board could not start: " + (e && e.message ? e.message : e));
  process.exit(1);
});
