// Handled only in a later macrotask: node treats it as unhandled (the check runs first).
const p = Promise.reject(new Error("handled too late"));
setTimeout(() => { p.catch(() => console.log("never printed")); }, 0);
console.log("main done");
