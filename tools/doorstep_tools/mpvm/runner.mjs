// One long-lived Node process that runs Python code in fresh MicroPython (WASM) VMs.
// Speaks JSON lines on stdin/stdout, one request -> one reply, so a pytest session pays
// Node's start-up once and ~12 ms per fresh VM (see shared notes).
//
// Requests:
//   {"id": N, "op": "put", "bundle": NAME, "files": {"/lib/x.py": "<base64>", ...}}
//   {"id": N, "op": "run", "bundles": [NAME...], "files": {...}, "code": "...", "heapsize": BYTES,
//    "cap": SLACK_BYTES}
//   With "cap", the VM cannot grow past its start: WebAssembly memory is not allowed to grow
//   and the free malloc space is filled with ballast except SLACK_BYTES, so the GC heap is
//   `heapsize` and an allocation beyond it raises MemoryError (method: shared notes).
// Replies: {"id": N, "ok": bool, "out": "...", "error": "..." , "files": {...}}
// "collect": [PREFIX...] in a run request returns every file under those prefixes after the run.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import readline from "node:readline";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const bundles = new Map();
let vm = null;

function mkdirs(FS, path) {
  const parts = path.split("/").filter(Boolean);
  let cur = "";
  for (const p of parts.slice(0, -1)) {
    cur += "/" + p;
    try { FS.mkdir(cur); } catch (e) { /* exists */ }
  }
}

function writeAll(FS, files) {
  for (const [path, b64] of Object.entries(files || {})) {
    mkdirs(FS, path);
    FS.writeFile(path, Buffer.from(b64, "base64"));
  }
}

function collect(FS, prefix, acc) {
  let names;
  try { names = FS.readdir(prefix); } catch (e) { return; }
  for (const n of names) {
    if (n === "." || n === "..") continue;
    const p = prefix.replace(/\/$/, "") + "/" + n;
    const st = FS.stat(p);
    if (FS.isDir(st.mode)) collect(FS, p, acc);
    else acc[p] = Buffer.from(FS.readFile(p)).toString("base64");
  }
}

// Each VM lives in its own worker thread, terminated after its run: timers and tasks a
// test leaves behind die with it instead of firing into the next test's VM.
function run(req) {
  return new Promise((resolve) => {
    const files = [];
    for (const name of req.bundles || []) files.push(bundles.get(name));
    const w = new Worker(new URL(import.meta.url), { workerData: { req, files } });
    let done = false;
    w.on("message", (reply) => { done = true; resolve(reply); w.terminate(); });
    w.on("error", (e) => { if (!done) { done = true; resolve({ id: req.id, ok: false, error: "MicroPython VM crashed: " + e, out: "" }); } });
    w.on("exit", () => { if (!done) { done = true; resolve({ id: req.id, ok: false, error: "MicroPython VM exited", out: "" }); } });
  });
}

// Heap cap: refuse to grow the WebAssembly memory once `capped` is set.
let capped = false;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = (binary, imports) => {
  const env = imports && imports.env;
  if (env && env.emscripten_resize_heap) {
    const grow = env.emscripten_resize_heap;
    env.emscripten_resize_heap = (n) => (capped ? 0 : grow(n));
  }
  return instantiate(binary, imports);
};

function ballast(Module, slack) {
  const held = [];
  for (let size = 1 << 24; size >= 256; size >>= 1) {
    for (;;) {
      const p = Module._malloc(size);
      if (!p) break;
      held.push([p, size]);
    }
  }
  // Give back the smallest pieces until `slack` bytes are free again.
  held.sort((a, b) => a[1] - b[1]);
  let freed = 0;
  while (freed < slack && held.length) {
    const [p, size] = held.shift();
    Module._free(p);
    freed += size;
  }
}

async function runInThisThread(req, bundleFiles) {
  const out = [];
  vm = await loadMicroPython({
    heapsize: req.heapsize || 2 * 1024 * 1024,
    linebuffer: false,
    stdout: (b) => out.push(Buffer.from(b)),
    stderr: (b) => out.push(Buffer.from(b)),
  });
  for (const files of bundleFiles) writeAll(vm.FS, files);
  writeAll(vm.FS, req.files);
  if (req.cap) {
    capped = true;
    ballast(vm._module, req.cap);
  }
  const reply = { id: req.id, ok: true };
  try {
    await vm.runPythonAsync(req.code);
  } catch (e) {
    reply.ok = false;
    reply.error = String(e && e.message ? e.message : e);
  }
  reply.out = Buffer.concat(out).toString("utf8");
  if (req.collect) {
    reply.files = {};
    for (const p of req.collect) collect(vm.FS, p, reply.files);
  }
  return reply;
}

if (!isMainThread) {
  runInThisThread(workerData.req, workerData.files).then((reply) => parentPort.postMessage(reply));
} else {
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
rl.on("line", (line) => {
  queue = queue.then(async () => {
    let req;
    try { req = JSON.parse(line); } catch (e) { return; }
    let reply;
    if (req.op === "put") {
      bundles.set(req.bundle, req.files);
      reply = { id: req.id, ok: true };
    } else if (req.op === "run") {
      reply = await run(req);
    } else {
      reply = { id: req.id, ok: false, error: "unknown op " + req.op };
    }
    process.stdout.write(JSON.stringify(reply) + "\n");
  });
});
rl.on("close", () => queue.then(() => process.exit(0)));
}
