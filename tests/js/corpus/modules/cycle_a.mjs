import { b, setB } from './cycle_b.mjs';
export let a = 'a0';
export function readB() { return b; }
export function setA(v) { a = v; setB(`b from ${v}`); }
