export * from './counter.mjs';
import { count } from './counter.mjs';
export { count as total };
export function relayed() { return count; }
