// Exports that change after evaluation: importers must see the new values (live bindings).
export let count = 0;
var hits = 0;
let label = 'start';
export { hits, label as state };
export function bump() { count += 1; hits += 2; label = `bumped ${count}`; return count; }
export let logger = (msg) => `log1: ${msg}`;
export function swapLogger() { logger = function (msg) { return `log2: ${msg} this=${typeof this}`; }; }
export const fixed = { value: 'const object' };
export default function () { return 'default fn'; }
