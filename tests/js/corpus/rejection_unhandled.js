// An unhandled rejection in the main script is fatal once the microtasks have drained.
console.log("start");
Promise.resolve().then(() => console.log("microtask still runs"));
process.nextTick(() => console.log("nextTick still runs"));
Promise.reject(new Error("nobody catches this"));
setTimeout(() => console.log("never printed"), 10);
console.log("end of main");
