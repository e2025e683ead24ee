import Greeter, { PI, increment, more, x, why, revealed, pi } from './modules/lib.mjs';
import * as lib from './modules/lib.mjs';
import './modules/more.mjs';

console.log(new Greeter().greet('modules'), PI, pi, more, x, why, revealed);
console.log(increment(), increment(), lib.counter);
console.log(Object.keys(lib).sort());
console.log(typeof import.meta.url, import.meta.url.endsWith('modules_main.mjs'));
const value = await new Promise((r) => setTimeout(() => r('top-level await'), 10));
console.log(value);
const lazy = await import('./modules/lazy.mjs');
console.log(lazy.lazy, lazy.default);
export const done = true;
