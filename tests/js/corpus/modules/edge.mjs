export async function fetchIt() { return 'async fn'; }
export default async function namedDefault() { return 'default async'; }
export class Widget { static kind = 'widget'; }
export function* gen() { yield 1; }
const one = 1, two = 2;
export {
  one,
  two as deux,
};
export const { nested, other: renamed } = { nested: 'n', other: 'r' };
