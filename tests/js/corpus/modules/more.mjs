export const more = 'more';
export const {x, y: why} = { x: 1, y: 2 };
const hidden = 'secret';
export { hidden as revealed };
console.log('more.mjs evaluated');
