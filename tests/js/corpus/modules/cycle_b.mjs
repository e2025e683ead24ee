import { a } from './cycle_a.mjs';
export let b = 'b0';
export function setB(v) { b = v; }
export function readA() { return a; }
