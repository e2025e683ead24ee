// A promise rejected from a timer callback, never handled: fatal after that macrotask.
setTimeout(() => console.log("first timer"), 1);
new Promise((_, rej) => setTimeout(() => { console.log("rejecting"); rej(new Error("late")); }, 15));
setTimeout(() => console.log("never printed"), 200);
