// hyphal prelude, part 4: the ES module registry. The host links the module graph (reading and
// rewriting import/export statements, see hyphal/js/modules.py) and defines each module with
// __hyphal_define; __hyphal_start_modules evaluates them in dependency order (in a cycle, the
// module reached last runs first), awaiting each body (top-level await), and reports a
// rejection as an uncaught error.
(function (H) {
  "use strict";
  const G = globalThis;
  const defs = new Map();
  G.__hyphal_define = function (id, deps, body) {
    const ns = Object.create(null);
    Object.defineProperty(ns, Symbol.toStringTag, { value: "Module" });
    defs.set(id, { id, deps, body, ns, promise: null });
  };
  function requireModule(id) {
    const m = defs.get(id);
    if (!m) throw new Error(`Cannot find module '${id}'`);
    return m.ns;
  }
  function evaluate(id) {
    const m = defs.get(id);
    if (!m) return Promise.reject(new Error(`Cannot find module '${id}'`));
    if (m.promise === null) {
      // An import cycle leads back here while the dependencies run: it waits for nothing
      // (the module is being evaluated), as in ES module evaluation.
      m.promise = Promise.resolve();
      m.promise = (async () => {
        for (const dep of new Set(Object.values(m.deps.static || {}))) await evaluate(dep);
        const exportName = (name, get) => Object.defineProperty(m.ns, name, { get, enumerable: true, configurable: true });
        const reexport = (from, names) => {
          const src = requireModule(from);
          if (names === null) {
            for (const k of Object.keys(src)) if (k !== "default" && !(k in m.ns)) exportName(k, () => src[k]);
          } else {
            for (const [local, exported] of names) exportName(exported, local === "*" ? () => src : () => src[local]);
          }
        };
        const dynamic = (spec) => {
          const target = (m.deps.dynamic || {})[spec];
          if (target === undefined) {
            const err = new Error(`Cannot find module '${spec}' imported from ${id}`);
            err.code = "ERR_MODULE_NOT_FOUND";
            return Promise.reject(err);
          }
          return evaluate(target).then(() => requireModule(target));
        };
        await m.body(requireModule, exportName, reexport, dynamic, { url: `file://${id}`, filename: id, dirname: id.replace(/\/[^/]*$/, "") });
      })();
    }
    return m.promise;
  }
  G.__hyphal_namespace = (id) => requireModule(id);
  G.__hyphal_start_modules = function (entry) {
    evaluate(entry).catch((e) => H.fatal(e, "uncaughtException"));
    return G.__hyphal_after_main();
  };
})(globalThis.__hyphal);
