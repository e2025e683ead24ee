export const lazy = 'loaded lazily';
export default 42;
