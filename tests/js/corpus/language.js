class Animal { constructor(name) { this.name = name; } speak() { return `${this.name} makes a sound`; } }
class Dog extends Animal { speak() { return `${super.speak()} (woof)`; } get upper() { return this.name.toUpperCase(); } static create(n) { return new Dog(n); } }
const d = Dog.create('rex');
console.log(d.speak(), d.upper, d instanceof Animal, d);
class MyError extends Error { constructor(m) { super(m); this.name = 'MyError'; this.code = 42; } }
try { throw new MyError('custom'); } catch (e) { console.log(e.name, e.message, e.code, e instanceof Error); }
const { a, b: { c = 5 } = {}, ...rest } = { a: 1, x: 2, y: 3 };
console.log(a, c, rest);
console.log([3, 1, 2].sort(), [1, 2, 3].map((x) => x * 2).filter((x) => x > 2).reduce((s, x) => s + x, 0));
console.log([1, [2, [3, [4]]]].flat(Infinity), Object.entries({ k: 1, j: 2 }), Object.fromEntries([['z', 26]]));
console.log('abc'.padStart(6, '-'), 'a-b-c'.split('-'), 'Hello'.at(-1), 'x'.repeat(3), ' trim '.trim(), 'abc'.replaceAll('b', 'B'));
console.log(JSON.stringify({ a: [1, { b: 2 }], c: 'd' }), JSON.stringify({ a: 1, b: [1, 2] }, null, 2));
console.log(JSON.parse('{"x":[1,2,{"y":null}]}'));
const m = new Map(); m.set('k', 1).set({}, 2); console.log(m.size, [...m.keys()][0]);
const ws = new WeakMap(); console.log(ws);
console.log(typeof Symbol.iterator, 2 ** 10, 7 % 3, Math.max(1, 5, 3), Number('0x1f'), parseFloat('3.14abc'));
console.log([..."héllo"].length, String.fromCharCode(72, 105), 'z'.codePointAt(0));
label: for (let i = 0; i < 3; i++) { for (let j = 0; j < 3; j++) { if (j === 1) continue label; if (i === 2) break label; console.log(i, j); } }
const gen = function* () { let i = 0; while (i < 3) yield i++; };
console.log([...gen()], Array.from(gen(), (x) => x * 10));
console.log(0.1 + 0.2, (1234.5678).toFixed(2), (255).toString(16), Number.MAX_SAFE_INTEGER, 2n ** 64n);
console.log(typeof globalThis, typeof global, typeof window);
console.log(new Date(Date.UTC(2020, 0, 2, 3, 4, 5)).toISOString());
console.log(Object.getOwnPropertyNames(Object.getPrototypeOf(d)), d.hasOwnProperty('name'));
console.log(Array.isArray([]), [1, 2, 3].includes(2), [1, 2, 3].findLast((x) => x < 3));
