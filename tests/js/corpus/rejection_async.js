// An async function that throws, with nobody awaiting its promise.
async function boom(n) {
  await null;
  if (n > 1) throw new TypeError(`async boom ${n}`);
  return n;
}
console.log("calling");
boom(1).then((v) => console.log("first ok", v));
boom(2);
setImmediate(() => console.log("never printed"));
