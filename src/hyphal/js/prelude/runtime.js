// hyphal prelude, part 2: the event loop bridge, console, timers, process.
//
// Theory of operation. JavaScript owns its timers, immediates and nextTick queue; the host
// (Python) owns time passing and I/O. The host calls __hyphal_step(input) to run one loop
// iteration -- due timers, then I/O completions the host delivers in `input`, then immediates
// -- with a microtask checkpoint after every macrotask, and gets back a JSON state: the outbox
// (output to write, fetches to start, exit), the delay until the next timer and whether work is
// ready now. Nothing calls back into Python. Where the engine cannot run a microtask checkpoint
// from JavaScript (QuickJS), a step stops after each macrotask with "j": 1; the host runs the
// promise jobs and calls __hyphal_resume(), which runs nextTicks and continues the iteration.
(function (H) {
  "use strict";
  const G = globalThis;
  const nativeCheckpoint = typeof G.__hyphal_native_checkpoint === "function" ? G.__hyphal_native_checkpoint : null;
  const hasPerf = typeof G.performance === "object" && G.performance && typeof G.performance.now === "function";
  let perfNow = hasPerf ? G.performance.now.bind(G.performance) : null;
  if (!hasPerf) {
    // V8: its first promise rejection installs a native clock (see hyphal/js/_speedups.c).
    Promise.reject(0).catch(() => {});
    const hrtime = G.__hyphal_hrtime;
    if (typeof hrtime === "function") {
      hrtime();
      if (typeof G.__hyphal_hrtime_value === "number") perfNow = () => { hrtime(); return G.__hyphal_hrtime_value; };
    }
  }
  const highResolution = perfNow !== null;
  const origin = highResolution ? perfNow() : Date.now();
  // A clock in ms since start. With a millisecond clock (V8 without hyphal.js._speedups)
  // deadlines are rounded up so that a timer never fires early.
  const now = highResolution ? () => perfNow() - origin : () => Date.now() - origin;
  const clockSlack = highResolution ? 0 : 1;
  H.now = now;

  // ---- outbox -------------------------------------------------------------------------------
  const outbox = [];  // one array for the context's life: handler.js reads its length
  let lastWrite = null;
  function write(fd, text) {
    if (lastWrite !== null && lastWrite[1] === fd) { lastWrite[2] += text; return; }
    lastWrite = ["w", fd, text];
    outbox.push(lastWrite);
  }
  function post(message) { lastWrite = null; outbox.push(message); }
  H.write = write;
  H.outbox = outbox;

  // ---- errors -------------------------------------------------------------------------------
  class ExitSignal { constructor(code) { this.code = code; this.__hyphal_exit__ = true; } }
  let exitCode = null;
  // Drop the prelude's own frames (everything from the callback runner down) and name the
  // main file where the engine could not (QuickJS calls every script "<input>").
  function cleanStack(stack) {
    const out = [];
    for (const line of stack.split("\n")) {
      if (/^\s+at (runCallback|runTask|iterate|__hyphal_)/.test(line)) break;
      out.push(line);
    }
    if (out.length && /^\s+at apply \(native\)/.test(out[out.length - 1])) out.pop();
    return out.join("\n").replace(/<input>/g, H.mainFile || "<input>");
  }
  H.cleanStack = cleanStack;
  function describeError(e) {
    if (e instanceof Error || (e && typeof e === "object" && typeof e.stack === "string")) {
      let stack = typeof e.stack === "string" && e.stack ? cleanStack(e.stack) : "";
      const head = `${e.name || "Error"}: ${e.message}`;
      if (!stack.startsWith(e.name || "Error")) stack = stack ? `${head}\n${stack}` : head;
      return stack.replace(/\n+$/, "");
    }
    return `Uncaught ${H.inspect(e)}`;
  }
  H.describeError = describeError;
  function fatal(e, kind) {
    if (e && e.__hyphal_exit__) { exitCode = e.code; return; }
    if (exitCode !== null) return;
    for (const l of exitListeners.get("uncaughtException") || []) {
      try { l(e, kind || "uncaughtException"); return; } catch (e2) { e = e2; }
    }
    let text;
    if (kind === "unhandledRejection" && !(e instanceof Error)) {
      text = `UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "${H.inspect(e)}".`;
    } else {
      text = describeError(e);
      const where = /\(?((?:\/|[A-Za-z]:|file:|\[)[^\s()]*?):(\d+):(\d+)\)?/.exec(text);
      if (where) text = `${where[1]}:${where[2]}\n${text}`;
    }
    if (H.embedded) {  // a handler context: report, keep serving
      write(2, `${kind === "unhandledRejection" ? "Uncaught (in promise) " : ""}${text}\n`);
      return;
    }
    write(2, `${text}\n`);
    exitCode = 1;
  }
  H.fatal = fatal;
  function runCallback(fn, self, args) {
    try { fn.apply(self, args); } catch (e) { fatal(e); }
  }

  // ---- unhandled rejections -----------------------------------------------------------------
  // The engine reports each promise rejected while it has no handler (event 0) and each
  // handler attached to such a promise later (event 1). As in node, a rejection still
  // unhandled once the nextTick and microtask queues have drained is fatal (or goes to
  // process.on("unhandledRejection") listeners); one handled within the same drain is not.
  const unhandled = new Map();
  G.__hyphal_rejection = function (promise, event, reason) {
    if (event === 0) unhandled.set(promise, reason); else unhandled.delete(promise);
  };
  function processRejections() {
    if (unhandled.size === 0) return false;
    for (const [promise, reason] of unhandled) {
      unhandled.delete(promise);
      if (exitCode !== null) break;
      const listeners = exitListeners.get("unhandledRejection");
      if (listeners && listeners.length) {
        for (const l of [...listeners]) runCallback(l, process, [reason, promise]);
      } else {
        fatal(reason, "unhandledRejection");
      }
    }
    return true;
  }
  H.unhandled = unhandled;
  H.processRejections = processRejections;

  // ---- nextTick, microtasks -----------------------------------------------------------------
  let ticks = [];
  function runTicks() {
    if (ticks.length === 0) return false;
    while (ticks.length && exitCode === null) {
      const batch = ticks;
      ticks = [];
      for (const [fn, args] of batch) {
        runCallback(fn, undefined, args);
        if (exitCode !== null) return true;
      }
    }
    return true;
  }
  function checkpoint() {
    // node: run the nextTick queue, then microtasks, until both are empty.
    // Then unhandled rejections; a listener may queue more work.
    do { runTicks(); if (nativeCheckpoint) nativeCheckpoint(); } while ((ticks.length || processRejections()) && exitCode === null);
  }
  H.checkpoint = nativeCheckpoint ? checkpoint : null;  // handler.js: settle a handler's promise in its call
  if (typeof G.queueMicrotask !== "function") {
    G.queueMicrotask = function queueMicrotask(fn) {
      if (typeof fn !== "function") throw new TypeError('The "callback" argument must be of type function');
      Promise.resolve().then(() => runCallback(fn, undefined, []));
    };
  }

  // ---- timers -------------------------------------------------------------------------------
  let nextId = 1;
  let seq = 0;
  // Timers set with the same delay in one loop iteration fire in the same timer phase, as in
  // node (whose timers share the loop's cached time): a timer whose deadline comes first waits
  // for the last of its group (microseconds later), so none fires early and none splits off.
  let timerGroups = new Map();
  const heap = []; // binary heap of timers by (when, seq)
  const timers = new Map();
  function less(a, b) { return a.when < b.when || (a.when === b.when && a.seq < b.seq); }
  function heapPush(t) {
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]]; i = p;
    }
  }
  function heapPop() {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]]; i = m;
      }
    }
    return top;
  }
  // Heap entries are {t: timer, when, seq}; an entry is stale once its timer was cancelled or
  // scheduled again (refresh, an interval's next run: t.seq names its live entry).
  function peekLive() {
    while (heap.length && (heap[0].t.cancelled || heap[0].seq !== heap[0].t.seq)) heapPop();
    return heap.length ? heap[0] : null;
  }
  class Timeout {
    constructor(fn, delay, args, repeat) {
      this._id = nextId++;
      this._onTimeout = fn; this._args = args; this._repeat = repeat;
      this._delay = delay; this.cancelled = false; this._ref = true;
      timers.set(this._id, this);
      this._schedule();
    }
    _schedule() {
      const when = now() + this._delay + clockSlack;
      let group = timerGroups.get(this._delay);
      if (group === undefined) timerGroups.set(this._delay, group = { when });
      else if (when > group.when) group.when = when;
      this._group = group;
      this.seq = ++seq;
      heapPush({ t: this, when, seq: this.seq });
    }
    ref() { this._ref = true; return this; }
    unref() { this._ref = false; return this; }
    hasRef() { return this._ref; }
    refresh() { if (!this.cancelled) this._schedule(); return this; }
    close() { clear(this); return this; }
    [Symbol.toPrimitive]() { return this._id; }
  }
  function toDelay(d) {
    d = Number(d);
    return !(d >= 1 && d <= 2147483647) ? 1 : d;
  }
  function clear(t) {
    if (t === undefined || t === null) return;
    const timer = typeof t === "object" ? t : timers.get(Number(t));
    if (timer && !timer.cancelled) { timer.cancelled = true; timers.delete(timer._id); }
  }
  function checkFn(fn) {
    if (typeof fn !== "function") {
      const err = new TypeError(`The "callback" argument must be of type function. Received ${H.inspect(fn)}`);
      err.code = "ERR_INVALID_ARG_TYPE";
      throw err;
    }
  }
  G.setTimeout = function setTimeout(fn, delay, ...args) { checkFn(fn); return new Timeout(fn, toDelay(delay), args, false); };
  G.setInterval = function setInterval(fn, delay, ...args) { checkFn(fn); return new Timeout(fn, toDelay(delay), args, true); };
  G.clearTimeout = clear;
  G.clearInterval = clear;

  let immediates = [];
  class Immediate {
    constructor(fn, args) { this._onImmediate = fn; this._args = args; this.cancelled = false; this._ref = true; }
    ref() { this._ref = true; return this; }
    unref() { this._ref = false; return this; }
    hasRef() { return this._ref; }
  }
  G.setImmediate = function setImmediate(fn, ...args) { checkFn(fn); const i = new Immediate(fn, args); immediates.push(i); return i; };
  G.clearImmediate = function clearImmediate(i) { if (i instanceof Immediate) i.cancelled = true; };

  // ---- host operations (fetch ...) ----------------------------------------------------------
  let nextOp = 1;
  const ops = new Map();
  let io = [];
  H.hostOp = function hostOp(kind, payload, onDone) {
    const id = nextOp++;
    ops.set(id, onDone);
    post([kind, id, payload]);
    return id;
  };
  H.cancelOp = function cancelOp(id) {
    if (ops.delete(id)) post(["c", id]);
  };

  // ---- the loop iteration -------------------------------------------------------------------
  let phase = 0;
  let phaseNow = 0;
  let iterating = false;
  let checkList = [];
  function nextTask() {
    for (;;) {
      if (phase === 0) {
        const e = peekLive();
        if (e !== null && e.when <= phaseNow) {
          heapPop();
          if (e.t._group.when > e.when) { e.when = e.t._group.when; heapPush(e); continue; }
          return e.t;
        }
        phase = 1;
      } else if (phase === 1) {
        if (io.length) return io.shift();
        phase = 2; checkList = immediates; immediates = [];
      } else if (phase === 2) {
        while (checkList.length) { const i = checkList.shift(); if (!i.cancelled) return i; }
        phase = 3;
      } else {
        phase = 0;
        iterating = false;
        return null;
      }
    }
  }
  function runTask(task) {
    if (task instanceof Timeout) {
      if (task._repeat) task._schedule(); else timers.delete(task._id);
      runCallback(task._onTimeout, task, task._args);
    } else if (task instanceof Immediate) {
      task.cancelled = true;
      runCallback(task._onImmediate, task, task._args);
    } else {
      const [id, ok, value] = task;
      const done = ops.get(id);
      if (done !== undefined) { ops.delete(id); runCallback(done, undefined, [ok, value]); }
    }
  }
  // The state the host acts on: o = outbox, j = run promise jobs then __hyphal_resume,
  // t = ms until the next timer (-1: none), k = a referenced timer keeps the program alive,
  // r = work is ready now, p = host operations in flight, x = exit code once exiting.
  function state(needJobs) {
    const out = outbox.splice(0);
    lastWrite = null;
    const t = peekLive();
    let refTimer = 0;
    if (t !== null) for (const x of timers.values()) if (x._ref) { refTimer = 1; break; }
    const s = {
      o: out,
      j: needJobs ? 1 : 0,
      t: t === null ? -1 : Math.max(0, t.when - now()),
      k: refTimer,
      r: (immediates.some((i) => !i.cancelled && i._ref) || io.length || ticks.length) ? 1 : 0,
      p: ops.size,
      x: exitCode,
    };
    return JSON.stringify(s);
  }
  function iterate() {
    while (exitCode === null) {
      const task = nextTask();
      if (task === null) break;
      runTask(task);
      if (!nativeCheckpoint) { runTicks(); return state(true); }
      checkpoint();
    }
    return state(false);
  }
  G.__hyphal_step = function (input) {
    if (input) for (const c of JSON.parse(input)) io.push(c);
    if (!iterating) { iterating = true; phaseNow = now(); timerGroups = new Map(); }
    return iterate();
  };
  G.__hyphal_resume = function () {
    // (QuickJS) the host ran the promise jobs; run nextTicks, then go on with the iteration.
    if (exitCode === null && (runTicks() || processRejections())) return state(true);
    if (!iterating || exitCode !== null) return state(false);
    return iterate();
  };
  G.__hyphal_main_ticks = function () { if (nativeCheckpoint) checkpoint(); else runTicks(); };
  G.__hyphal_after_main = function () {
    // Run after the main script: nextTicks then microtasks (then the loop starts).
    if (exitCode === null) { if (nativeCheckpoint) checkpoint(); else if (runTicks()) return state(true); }
    return state(!nativeCheckpoint);
  };
  G.__hyphal_state = () => state(false);
  G.__hyphal_exit_code = () => exitCode;
  G.__hyphal_finish = function () {
    // The loop ran dry: emit 'exit' and report the exit code.
    if (exitCode === null) {
      const code = process.exitCode === undefined ? 0 : Number(process.exitCode) | 0;
      for (const l of exitListeners.get("exit") || []) runCallback(l, process, [code]);
      if (exitCode === null) exitCode = process.exitCode === undefined ? 0 : Number(process.exitCode) | 0;
    }
    return state(false);
  };
  G.__hyphal_configure = (json) => H.configure(json);
  G.__hyphal_set_memory = (json) => H.setMemory(json);

  // ---- console ------------------------------------------------------------------------------
  let groupIndent = "";
  const counts = new Map();
  const times = new Map();
  function log(fd) {
    return function (...args) {
      let text = H.formatArgs(args);
      if (groupIndent) text = groupIndent + text.split("\n").join(`\n${groupIndent}`);
      write(fd, text + "\n");
    };
  }
  function fmtMs(ms) {
    if (ms >= 1000) return `${(ms / 1000).toFixed(3)}s`;
    return `${Number(ms.toFixed(3))}ms`;
  }
  const console = {
    log: log(1), info: log(1), debug: log(1), warn: log(2), error: log(2), trace(...args) {
      const err = new Error(H.formatArgs(args));
      err.name = "Trace";
      write(2, `${groupIndent}${(err.stack || "Trace: " + err.message).replace(/^Error/, "Trace")}\n`);
    },
    dir(obj, options) { write(1, `${groupIndent}${H.inspect(obj, options)}\n`); },
    assert(cond, ...args) {
      if (!cond) {
        if (args.length && typeof args[0] === "string") args[0] = `Assertion failed: ${args[0]}`;
        else args.unshift("Assertion failed");
        console.warn(...args);
      }
    },
    count(label = "default") {
      label = `${label}`;
      const n = (counts.get(label) || 0) + 1;
      counts.set(label, n);
      console.log(`${label}: ${n}`);
    },
    countReset(label = "default") { counts.delete(`${label}`); },
    time(label = "default") { times.set(`${label}`, now()); },
    timeEnd(label = "default") {
      label = `${label}`;
      const start = times.get(label);
      if (start === undefined) { console.warn(`Warning: No such label '${label}' for console.timeEnd()`); return; }
      times.delete(label);
      console.log(`${label}: ${fmtMs(now() - start)}`);
    },
    timeLog(label = "default", ...data) {
      label = `${label}`;
      const start = times.get(label);
      if (start === undefined) { console.warn(`Warning: No such label '${label}' for console.timeLog()`); return; }
      console.log(`${label}: ${fmtMs(now() - start)}`, ...data);
    },
    group(...label) { if (label.length) console.log(...label); groupIndent += "  "; },
    groupEnd() { groupIndent = groupIndent.slice(2); },
    table(data, columns) { H.table(data, columns); },
  };
  console.groupCollapsed = console.group;
  H.tableOut = (text) => console.log(text);
  G.console = console;

  // ---- process ------------------------------------------------------------------------------
  const exitListeners = new Map();
  const process = {
    argv: [], env: {}, platform: "linux", pid: 0, arch: "x64", exitCode: undefined,
    version: "v20.0.0", versions: { node: "20.0.0", hyphal: "0.1.0" }, release: { name: "hyphal" },
    execArgv: [], title: "hyphal",
    exit(code) {
      let c = code === undefined ? process.exitCode : code;
      c = c === undefined ? 0 : Number(c) | 0;
      if (exitCode === null) {
        exitCode = c;
        for (const l of exitListeners.get("exit") || []) { try { l.call(process, c); } catch (e) { /* */ } }
      }
      throw new ExitSignal(exitCode);
    },
    nextTick(fn, ...args) { checkFn(fn); ticks.push([fn, args]); },
    hrtime: Object.assign(function hrtime(prev) {
      const ns = Math.round(now() * 1e6) + 1e9;
      let s = Math.floor(ns / 1e9), n = ns % 1e9;
      if (prev) { s -= prev[0]; n -= prev[1]; if (n < 0) { s--; n += 1e9; } }
      return [s, n];
    }, { bigint() { return BigInt(Math.round(now() * 1e6)) + 1000000000n; } }),
    uptime() { return now() / 1000; },
    cwd() { return H.cwd || "/"; },
    memoryUsage: Object.assign(function memoryUsage() {
      const m = H.memory || {};
      return { rss: m.rss || 0, heapTotal: m.heapTotal || 0, heapUsed: m.heapUsed || 0, external: 0, arrayBuffers: 0 };
    }, { rss() { return (H.memory || {}).rss || 0; } }),
    on(event, fn) { if (!exitListeners.has(event)) exitListeners.set(event, []); exitListeners.get(event).push(fn); return process; },
    off(event, fn) { const l = exitListeners.get(event) || []; const i = l.indexOf(fn); if (i >= 0) l.splice(i, 1); return process; },
    emitWarning(w) { write(2, `(hyphal) Warning: ${w && w.message ? w.message : w}\n`); },
    stdout: { write(s) { write(1, `${s}`); return true; }, isTTY: false },
    stderr: { write(s) { write(2, `${s}`); return true; }, isTTY: false },
  };
  process.once = process.on;
  process.addListener = process.on;
  process.removeListener = process.off;
  G.process = process;
  G.global = G;
  H.configure = function (json) {
    const cfg = JSON.parse(json);
    process.argv = cfg.argv; process.env = cfg.env; process.pid = cfg.pid; H.cwd = cfg.cwd;
    process.platform = cfg.platform; H.memory = cfg.memory; H.mainFile = cfg.main;
    H.embedded = cfg.embedded === true;
  };
  H.setMemory = function (json) { H.memory = JSON.parse(json); };

  if (!hasPerf) {
    G.performance = { now, timeOrigin: Date.now() - now(), mark() {}, measure() {} };
  } else if (G.performance.timeOrigin === undefined) {
    try { G.performance.timeOrigin = Date.now() - now(); } catch (e) { /* */ }
  }
})(globalThis.__hyphal);
