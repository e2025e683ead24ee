// Rejections handled before the microtask queue drains are not reported.
const log = (...a) => console.log(...a);
const a = Promise.reject(new Error("a"));
queueMicrotask(() => a.catch((e) => log("a caught in a microtask:", e.message)));
const b = Promise.reject(new Error("b"));
Promise.resolve().then(() => null).then(() => b.catch((e) => log("b caught two jobs later:", e.message)));
const c = Promise.reject(new Error("c"));
process.nextTick(() => c.then(null, (e) => log("c caught in nextTick:", e.message)));
async function tryAwait() {
  try { await Promise.reject(new RangeError("d")); } catch (e) { log("d caught by await:", e.name); }
  try { await (async () => { throw new Error("e"); })(); } catch (e) { log("e caught:", e.message); }
  return "tryAwait done";
}
tryAwait().then(log);
Promise.allSettled([Promise.reject(1), Promise.resolve(2)]).then((r) => log(r.map((x) => x.status)));
Promise.all([Promise.reject(new Error("f")), Promise.reject(new Error("g"))]).catch((e) => log("all:", e.message));
Promise.race([Promise.reject(new Error("h")), new Promise(() => {})]).catch((e) => log("race:", e.message));
Promise.any([Promise.reject(1), Promise.reject(2)]).catch((e) => log("any:", e.constructor.name, e.errors));
Promise.reject(new Error("i")).finally(() => log("finally ran")).catch((e) => log("after finally:", e.message));
setTimeout(() => {
  const later = Promise.reject(new Error("j"));
  Promise.resolve().then(() => later.catch((e) => log("j caught in the timer's drain:", e.message)));
}, 5);
setTimeout(() => log("all done"), 20);
