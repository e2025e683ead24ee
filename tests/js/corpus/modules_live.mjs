import run, { count, bump, hits, state, logger, swapLogger, fixed } from './modules/counter.mjs';
import * as counter from './modules/counter.mjs';
import { total, relayed, count as viaStar } from './modules/relay.mjs';
import { a, setA, readB } from './modules/cycle_a.mjs';
import { readA } from './modules/cycle_b.mjs';

console.log('before', count, hits, state, total, viaStar);
bump();
bump();
console.log('after', count, hits, state, total, viaStar, relayed(), counter.count);
const snapshot = { count, state, nested: { hits } };
console.log(snapshot, [count, hits], `${count}/${hits}`, typeof count);
console.log(logger('x'));
swapLogger();
console.log(logger('y'));
function shadow(count) { return count * 10; }
const arrow = (hits) => hits + 1;
console.log(shadow(5), arrow(1), fixed.value, run());
const obj = { count: 'key, not a reference', state() { return 'method'; } };
console.log(obj.count, obj.state(), obj?.count);
try { count = 5; } catch (e) { console.log('assigning an import throws', e instanceof TypeError); }
console.log(a, readB(), readA());
setA('a1');
console.log(a, readB(), readA());
switch (count) { case 2: console.log('case sees', count); break; default: console.log('no'); }
