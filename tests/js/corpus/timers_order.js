// Ordering of ticks, microtasks, timers and immediates, with timers far enough apart that
// machine noise cannot reorder them.
const log = (s) => console.log(s);
log('sync 1');
setTimeout(() => {
  log('timeout A');
  setImmediate(() => log('immediate from timeout'));
  setTimeout(() => log('timeout from timeout'), 0);
  process.nextTick(() => log('tick from timeout'));
  Promise.resolve().then(() => log('promise from timeout'));
}, 100);
setTimeout(() => log('timeout B (same delay, later)'), 100);
setTimeout(() => log('timeout 300'), 300);
setTimeout(() => log('timeout 200'), 200);
Promise.resolve().then(() => {
  log('promise 1');
  process.nextTick(() => log('tick from promise'));
  Promise.resolve().then(() => log('promise 2'));
});
process.nextTick(() => {
  log('tick 1');
  Promise.resolve().then(() => log('promise from tick'));
  process.nextTick(() => log('tick 2'));
});
queueMicrotask(() => log('microtask'));
(async () => {
  log('async start');
  await null;
  log('after await');
  await new Promise((r) => setTimeout(r, 400));
  log('after 400ms');
  let n = 0;
  const iv = setInterval(() => { log(`interval ${++n}`); if (n === 3) clearInterval(iv); }, 60);
})();
const t = setTimeout(() => log('never'), 15); clearTimeout(t);
setImmediate(() => {
  log('immediate 1');
  setImmediate(() => log('immediate nested'));
  setTimeout(() => log('timeout from immediate 800'), 800);
  process.nextTick(() => log('tick from immediate'));
});
setTimeout((a, b) => log(`args ${a} ${b}`), 700, 'x', 'y');
const u = setTimeout(() => log('unref never fires'), 10000); u.unref();
log('sync 2');
