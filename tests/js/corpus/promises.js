const sleep = (ms, v) => new Promise((r) => setTimeout(() => r(v), ms));
async function main() {
  console.log(await Promise.all([sleep(20, 'a'), sleep(5, 'b'), 3]));
  console.log(await Promise.race([sleep(30, 'slow'), sleep(5, 'fast')]));
  console.log(await Promise.allSettled([Promise.reject(new Error('no')), Promise.resolve(1)]).then((r) => r.map((x) => x.status)));
  console.log(await Promise.any([Promise.reject(1), sleep(5, 'any')]));
  try { await Promise.reject(new TypeError('caught')); } catch (e) { console.log(e.name, e.message, e instanceof TypeError); }
  const results = [];
  await Promise.all([3, 1, 2].map(async (d) => { await sleep(d * 10); results.push(d); }));
  console.log(results);
  for await (const x of (async function* () { yield 1; await sleep(1); yield 2; })()) console.log('gen', x);
  const start = Date.now();
  await sleep(50);
  console.log('slept at least 50ms:', Date.now() - start >= 50);
  return 'done';
}
main().then((v) => console.log(v));
console.log('main returned a promise');
