// hyphal run examples/script.js [name]
// A tour of the Node-like globals: console formatting, timers and their ordering, promises,
// process, URL and TextEncoder. Runs the same on `--engine v8` (default) and `--engine quickjs`.

const name = process.argv[2] || 'world';
console.log(`hello, ${name}`);

// Inside a callback the order is fixed, as in node: nextTick, promise, immediate, timeout.
const order = [];
setTimeout(() => {
  setTimeout(() => order.push('timeout'), 0);
  setImmediate(() => order.push('immediate'));
  Promise.resolve().then(() => order.push('promise'));
  process.nextTick(() => order.push('nextTick'));
}, 1);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  await sleep(20);
  console.log('event order:', order.join(' -> '));

  const url = new URL('https://example.com/search?q=hyphal&page=2');
  console.log({ host: url.host, query: Object.fromEntries(url.searchParams) });

  const bytes = new TextEncoder().encode('héllo');
  console.log(bytes, btoa('hyphal'));

  const started = performance.now();
  const results = await Promise.all([30, 10, 20].map(async (ms) => { await sleep(ms); return ms; }));
  console.log('parallel sleeps', results, 'took < 60 ms:', performance.now() - started < 60);

  console.table([{ engine: 'v8', jit: true }, { engine: 'quickjs', jit: false }]);
}

main().then(() => process.exit(0));
