export const PI = 3.14;
export let counter = 0;
export function increment() { counter += 1; return counter; }
export default class Greeter { greet(n) { return `hello ${n}`; } }
export { PI as pi };
export * from './more.mjs';
