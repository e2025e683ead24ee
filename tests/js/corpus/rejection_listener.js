// process.on("unhandledRejection") replaces the fatal error; the program goes on.
process.on("unhandledRejection", (reason, promise) => {
  console.log("unhandledRejection:", reason instanceof Error ? reason.message : reason,
              promise instanceof Promise);
});
console.log("start");
Promise.reject(new Error("first"));
(async () => { throw 42; })();
setTimeout(() => { Promise.reject("from a timer"); console.log("timer done"); }, 5);
setTimeout(() => console.log("still running"), 15);
