import def, {
  fetchIt,
  Widget,
  gen,
  one,
  deux,
  nested,
  renamed,
} from './modules/edge.mjs';
import * as ns from './modules/edge.mjs';
console.log(await def(), await fetchIt(), Widget.kind, [...gen()], one, deux, nested, renamed);
console.log(Object.keys(ns).sort(), ns[Symbol.toStringTag]);
const text = "import x from 'not-a-module'";
console.log(text);
const missing = await import('./modules/absent.mjs').catch((e) => e.code);
console.log(missing);
