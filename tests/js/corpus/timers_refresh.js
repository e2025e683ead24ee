// refresh() moves a pending timer (it fires once, later); timers set with the same delay in one
// loop iteration fire together, before the immediates they schedule.
let n = 0;
const t = setTimeout(() => console.log('refreshed timer fired', ++n), 20);
setTimeout(() => t.refresh(), 10);
setTimeout(() => console.log('done, fired', n, 'time(s)'), 150);
for (const name of ['A', 'B', 'C']) {
  setTimeout(() => { console.log(name); setImmediate(() => console.log('immediate from', name)); }, 60);
}
let ticks = 0;
const iv = setInterval(() => { console.log('interval', ++ticks); if (ticks === 2) clearInterval(iv); }, 45);
