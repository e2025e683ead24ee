// hyphal prelude, part 1: util.inspect and console formatting, following node's rules for
// plain objects, arrays, nested values, Map/Set, typed arrays, functions, classes, errors.
(function (H) {
  "use strict";
  const kObjectType = 0, kArrayType = 1, kArrayExtrasType = 2;
  const keyStrRegExp = /^[a-zA-Z_][a-zA-Z_0-9]*$/;
  const escapeAll = /[\x00-\x1f\x27\x5c\x7f-\x9f]/;
  const escapeNoQuote = /[\x00-\x1f\x5c\x7f-\x9f]/;
  const customInspect = Symbol.for("nodejs.util.inspect.custom");
  const TypedArray = Object.getPrototypeOf(Uint8Array);
  const named = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r", 39: "\\'", 92: "\\\\" };

  function escapeChar(code, quote) {
    if (code === 39 && quote !== 39) return "'";
    if (named[code] !== undefined) return named[code];
    return "\\x" + code.toString(16).toUpperCase().padStart(2, "0");
  }

  function strEscape(str) {
    let quote = 39;
    let test = escapeAll;
    if (str.includes("'")) {
      if (!str.includes('"')) quote = -2;
      else if (!str.includes("`") && !str.includes("${")) quote = -1;
      if (quote !== 39) test = escapeNoQuote;
    }
    if (test.exec(str) !== null) {
      let out = "";
      for (let i = 0; i < str.length; i++) {
        const c = str.charCodeAt(i);
        if (c < 0x20 || c === 0x5c || (c >= 0x7f && c <= 0x9f) || (c === 39 && quote === 39)) {
          out += escapeChar(c, quote);
        } else {
          out += str[i];
        }
      }
      str = out;
    }
    if (quote === -1) return "`" + str + "`";
    if (quote === -2) return '"' + str + '"';
    return "'" + str + "'";
  }

  function formatNumber(n) { return Object.is(n, -0) ? "-0" : `${n}`; }

  function formatPrimitive(ctx, value) {
    switch (typeof value) {
      case "string":
        if (value.length > 16 && value.length > ctx.breakLength - ctx.indentationLvl - 4) {
          return value.split(/(?<=\n)/).map(strEscape)
            .join(` +\n${" ".repeat(ctx.indentationLvl + 2)}`);
        }
        return strEscape(value);
      case "number": return formatNumber(value);
      case "bigint": return `${value}n`;
      case "symbol": return value.toString();
      default: return `${value}`;
    }
  }

  function getConstructorName(obj) {
    let o = obj;
    while (o !== null && o !== undefined) {
      const d = Object.getOwnPropertyDescriptor(o, "constructor");
      if (d !== undefined && typeof d.value === "function" && d.value.name !== "") {
        try { if (obj instanceof d.value || o === obj) return d.value.name; } catch (e) { /* */ }
        return d.value.name;
      }
      o = Object.getPrototypeOf(o);
    }
    return null;
  }

  function getPrefix(constructor, tag, fallback, size = "") {
    if (constructor === null) {
      if (tag !== "" && fallback !== tag) return `[${fallback}${size}: null prototype] [${tag}] `;
      return `[${fallback}${size}: null prototype] `;
    }
    if (tag !== "" && constructor !== tag) return `${constructor}${size} [${tag}] `;
    return `${constructor}${size} `;
  }

  function getKeys(value, showHidden) {
    const keys = showHidden ? Object.getOwnPropertyNames(value) : Object.keys(value);
    for (const s of Object.getOwnPropertySymbols(value)) {
      if (showHidden || Object.prototype.propertyIsEnumerable.call(value, s)) keys.push(s);
    }
    return keys;
  }

  function isIndex(key, length) {
    if (typeof key !== "string") return false;
    const n = Number(key);
    return key !== "" && n >>> 0 === n && `${n}` === key && n < length;
  }

  function nonIndexKeys(value, showHidden) {
    return getKeys(value, showHidden).filter((k) => !isIndex(k, 4294967295));
  }

  function getFunctionBase(value, constructor, tag) {
    let source = "";
    try { source = Function.prototype.toString.call(value); } catch (e) { /* */ }
    if (source.startsWith("class") && source.endsWith("}")) {
      const name = value.name || "(anonymous)";
      let base = `[class ${name}`;
      const superClass = Object.getPrototypeOf(value);
      if (superClass && superClass.name) base += ` extends ${superClass.name}`;
      return base + "]";
    }
    let type = "Function";
    if (constructor === "GeneratorFunction") type = "GeneratorFunction";
    else if (constructor === "AsyncFunction") type = "AsyncFunction";
    else if (constructor === "AsyncGeneratorFunction") type = "AsyncGeneratorFunction";
    let base = `[${type}`;
    if (constructor === null) base += " (null prototype)";
    base += value.name === "" ? " (anonymous)" : `: ${value.name}`;
    base += "]";
    if (constructor !== type && constructor !== null && constructor !== "Function") base += ` ${constructor}`;
    if (tag !== "" && constructor !== tag) base += ` [${tag}]`;
    return base;
  }

  function formatError(err, ctx) {
    let stack = typeof err.stack === "string" && err.stack ? err.stack : "";
    if (stack && H.cleanStack) stack = H.cleanStack(stack);
    const head = `${err.name || "Error"}: ${err.message}`;
    if (!stack) return `[${Error.prototype.toString.call(err)}]`;
    if (!stack.startsWith(err.name || "Error")) stack = `${head}\n${stack}`;
    stack = stack.replace(/\n+$/, "");
    if (!stack.includes("\n    at")) stack = `[${stack}]`;
    if (ctx.indentationLvl !== 0) {
      stack = stack.split("\n").join(`\n${" ".repeat(ctx.indentationLvl)}`);
    }
    return stack;
  }

  function formatValue(ctx, value, recurseTimes) {
    if (typeof value !== "object" && typeof value !== "function") return formatPrimitive(ctx, value);
    if (value === null) return "null";
    if (typeof value[customInspect] === "function" && value[customInspect] !== H.inspect) {
      const r = value[customInspect](ctx.depth - recurseTimes, ctx, H.inspect);
      if (r !== value) return typeof r === "string" ? r : formatValue(ctx, r, recurseTimes);
    }
    if (ctx.seen.includes(value)) {
      let index = 1;
      if (ctx.circular === undefined) {
        ctx.circular = new Map([[value, index]]);
      } else {
        index = ctx.circular.get(value);
        if (index === undefined) { index = ctx.circular.size + 1; ctx.circular.set(value, index); }
      }
      return `[Circular *${index}]`;
    }
    return formatRaw(ctx, value, recurseTimes);
  }

  function formatRaw(ctx, value, recurseTimes) {
    let keys;
    const constructor = getConstructorName(value);
    let tag = value[Symbol.toStringTag];
    if (typeof tag !== "string" || (tag !== "" && Object.prototype.propertyIsEnumerable.call(value, Symbol.toStringTag))) tag = "";
    let base = "";
    let formatter = () => [];
    let braces;
    let extrasType = kObjectType;
    let noIterator = true;
    if (Symbol.iterator in value || constructor === null) {
      noIterator = false;
      if (Array.isArray(value)) {
        const prefix = (constructor !== "Array" || tag !== "") ? getPrefix(constructor, tag, "Array", `(${value.length})`) : "";
        keys = nonIndexKeys(value, ctx.showHidden);
        braces = [`${prefix}[`, "]"];
        if (value.length === 0 && keys.length === 0) return `${braces[0]}]`;
        extrasType = kArrayExtrasType;
        formatter = formatArray;
      } else if (value instanceof Set) {
        const prefix = getPrefix(constructor, tag, "Set", `(${value.size})`);
        keys = getKeys(value, ctx.showHidden);
        formatter = formatSet;
        if (value.size === 0 && keys.length === 0) return `${prefix}{}`;
        braces = [`${prefix}{`, "}"];
      } else if (value instanceof Map) {
        const prefix = getPrefix(constructor, tag, "Map", `(${value.size})`);
        keys = getKeys(value, ctx.showHidden);
        formatter = formatMap;
        if (value.size === 0 && keys.length === 0) return `${prefix}{}`;
        braces = [`${prefix}{`, "}"];
      } else if (value instanceof TypedArray) {
        keys = nonIndexKeys(value, ctx.showHidden);
        const prefix = getPrefix(constructor, tag, "", `(${value.length})`);
        braces = [`${prefix}[`, "]"];
        if (value.length === 0 && keys.length === 0) return `${braces[0]}]`;
        formatter = formatTypedArray;
        extrasType = kArrayExtrasType;
      } else {
        noIterator = true;
      }
    }
    if (noIterator) {
      keys = getKeys(value, ctx.showHidden);
      braces = ["{", "}"];
      if (typeof value === "function") {
        base = getFunctionBase(value, constructor, tag);
        if (keys.length === 0) return base;
      } else if (constructor === "Object") {
        if (tag !== "") braces[0] = `${getPrefix(constructor, tag, "Object")}{`;
        if (keys.length === 0) return `${braces[0]}}`;
      } else if (value instanceof RegExp) {
        base = RegExp.prototype.toString.call(value);
        if (keys.length === 0 || recurseTimes > ctx.depth) return base;
      } else if (value instanceof Date) {
        base = Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
        if (keys.length === 0) return base;
      } else if (value instanceof Error) {
        base = formatError(value, ctx);
        keys = keys.filter((k) => k !== "stack" && k !== "message");
        if (keys.length === 0) return base;
      } else if (value instanceof ArrayBuffer) {
        const prefix = getPrefix(constructor, tag, "ArrayBuffer");
        formatter = formatArrayBuffer;
        braces[0] = `${prefix}{`;
        keys.unshift("byteLength");
      } else if (value instanceof Promise) {
        braces[0] = `${getPrefix(constructor, tag, "Promise")}{`;
        formatter = () => [H.promiseState ? H.promiseState(value) : "<pending>"];
      } else if (value instanceof WeakMap || value instanceof WeakSet) {
        braces[0] = `${getPrefix(constructor, tag, value instanceof WeakMap ? "WeakMap" : "WeakSet")}{`;
        formatter = () => ["<items unknown>"];
      } else if (value instanceof Number || value instanceof String || value instanceof Boolean ||
                 (typeof BigInt === "function" && value instanceof BigInt) || value instanceof Symbol) {
        const prim = value.valueOf();
        const type = typeof prim === "string" ? "String" : typeof prim === "number" ? "Number" :
          typeof prim === "boolean" ? "Boolean" : typeof prim === "bigint" ? "BigInt" : "Symbol";
        if (type === "String") keys = keys.filter((k) => !isIndex(k, prim.length));
        base = `[${type}: ${formatPrimitive(ctx, prim)}]`;
        if (keys.length === 0) return base;
      } else {
        if (keys.length === 0) return `${getPrefix(constructor, tag, "Object")}{}`;
        braces[0] = `${getPrefix(constructor, tag, "Object")}{`;
      }
    }
    if (recurseTimes > ctx.depth && ctx.depth !== null) {
      let name = getPrefix(constructor, tag, "Object").slice(0, -1);
      if (constructor !== null) name = `[${name}]`;
      return name;
    }
    recurseTimes += 1;
    ctx.seen.push(value);
    ctx.currentDepth = recurseTimes;
    let output = formatter(ctx, value, recurseTimes);
    for (let i = 0; i < keys.length; i++) {
      output.push(formatProperty(ctx, value, recurseTimes, keys[i], extrasType));
    }
    if (ctx.circular !== undefined) {
      const index = ctx.circular.get(value);
      if (index !== undefined) {
        const reference = `<ref *${index}>`;
        base = base === "" ? reference : `${reference} ${base}`;
      }
    }
    ctx.seen.pop();
    return reduceToSingleString(ctx, output, base, braces, extrasType, recurseTimes, value);
  }

  function formatProperty(ctx, value, recurseTimes, key, type) {
    let str;
    const desc = Object.getOwnPropertyDescriptor(value, key) || { value: value[key], enumerable: true };
    if (desc.value !== undefined) {
      ctx.indentationLvl += 2;
      str = formatValue(ctx, desc.value, recurseTimes);
      ctx.indentationLvl -= 2;
    } else if (desc.get !== undefined) {
      str = desc.set !== undefined ? "[Getter/Setter]" : "[Getter]";
    } else if (desc.set !== undefined) {
      str = "[Setter]";
    } else {
      str = "undefined";
    }
    if (type === kArrayType) return str;
    let name;
    if (typeof key === "symbol") name = `[${key.toString()}]`;
    else if (key === "__proto__") name = "['__proto__']";
    else if (desc.enumerable === false) name = `[${key}]`;
    else if (keyStrRegExp.test(key)) name = key;
    else name = strEscape(key);
    return `${name}: ${str}`;
  }

  function remaining(n) { return `... ${n} more item${n > 1 ? "s" : ""}`; }

  function formatArray(ctx, value, recurseTimes) {
    const len = Math.min(ctx.maxArrayLength, value.length);
    const output = [];
    let holes = 0;
    for (let i = 0; i < len; i++) {
      if (!Object.prototype.hasOwnProperty.call(value, i)) { holes++; continue; }
      if (holes) { output.push(`<${holes} empty item${holes > 1 ? "s" : ""}>`); holes = 0; }
      output.push(formatProperty(ctx, value, recurseTimes, i, kArrayType));
    }
    if (holes) output.push(`<${holes} empty item${holes > 1 ? "s" : ""}>`);
    if (value.length > len) output.push(remaining(value.length - len));
    return output;
  }

  function formatTypedArray(ctx, value) {
    const len = Math.min(ctx.maxArrayLength, value.length);
    const output = [];
    for (let i = 0; i < len; i++) {
      output.push(typeof value[i] === "bigint" ? `${value[i]}n` : formatNumber(value[i]));
    }
    if (value.length > len) output.push(remaining(value.length - len));
    return output;
  }

  function formatArrayBuffer(ctx, value) {
    const bytes = new Uint8Array(value);
    let hex = Array.from(bytes.subarray(0, Math.min(ctx.maxArrayLength, bytes.length)),
      (b) => b.toString(16).padStart(2, "0")).join(" ");
    if (bytes.length > ctx.maxArrayLength) hex += ` ... ${bytes.length - ctx.maxArrayLength} more byte${bytes.length - ctx.maxArrayLength > 1 ? "s" : ""}`;
    return [`[Uint8Contents]: <${hex}>`];
  }

  function formatSet(ctx, value, recurseTimes) {
    const output = [];
    ctx.indentationLvl += 2;
    for (const v of value) output.push(formatValue(ctx, v, recurseTimes));
    ctx.indentationLvl -= 2;
    return output;
  }

  function formatMap(ctx, value, recurseTimes) {
    const output = [];
    ctx.indentationLvl += 2;
    for (const [k, v] of value) {
      output.push(`${formatValue(ctx, k, recurseTimes)} => ${formatValue(ctx, v, recurseTimes)}`);
    }
    ctx.indentationLvl -= 2;
    return output;
  }

  function groupArrayElements(ctx, output, value) {
    let totalLength = 0, maxLength = 0, i = 0;
    let outputLength = output.length;
    if (ctx.maxArrayLength < output.length) outputLength--;
    const separatorSpace = 2;
    const dataLen = new Array(outputLength);
    for (; i < outputLength; i++) {
      const len = output[i].length;
      dataLen[i] = len;
      totalLength += len + separatorSpace;
      if (maxLength < len) maxLength = len;
    }
    const actualMax = maxLength + separatorSpace;
    if (actualMax * 3 + ctx.indentationLvl < ctx.breakLength &&
        (totalLength / actualMax > 5 || maxLength <= 6)) {
      const averageBias = Math.sqrt(actualMax - totalLength / output.length);
      const biasedMax = Math.max(actualMax - 3 - averageBias, 1);
      const columns = Math.min(
        Math.round(Math.sqrt(2.5 * biasedMax * outputLength) / biasedMax),
        Math.floor((ctx.breakLength - ctx.indentationLvl) / actualMax),
        ctx.compact * 4, 15);
      if (columns <= 1) return output;
      const tmp = [];
      const maxLineLength = [];
      for (let c = 0; c < columns; c++) {
        let lineLength = 0;
        for (let j = c; j < output.length; j += columns) if (dataLen[j] > lineLength) lineLength = dataLen[j];
        maxLineLength.push(lineLength + separatorSpace);
      }
      let padStart = true;
      if (value !== undefined) {
        for (let k = 0; k < output.length; k++) {
          if (typeof value[k] !== "number" && typeof value[k] !== "bigint") { padStart = false; break; }
        }
      }
      for (let r = 0; r < outputLength; r += columns) {
        const max = Math.min(r + columns, outputLength);
        let str = "";
        let j = r;
        for (; j < max - 1; j++) {
          const cell = `${output[j]}, `;
          str += padStart ? cell.padStart(maxLineLength[j - r], " ") : cell.padEnd(maxLineLength[j - r], " ");
        }
        str += padStart ? output[j].padStart(maxLineLength[j - r] - separatorSpace, " ") : output[j];
        tmp.push(str);
      }
      if (ctx.maxArrayLength < output.length) tmp.push(output[outputLength]);
      output = tmp;
    }
    return output;
  }

  function isBelowBreakLength(ctx, output, start, base) {
    let totalLength = output.length + start;
    if (totalLength + output.length > ctx.breakLength) return false;
    for (let i = 0; i < output.length; i++) {
      totalLength += output[i].length;
      if (totalLength > ctx.breakLength) return false;
    }
    return base === "" || !base.includes("\n");
  }

  function reduceToSingleString(ctx, output, base, braces, extrasType, recurseTimes, value) {
    const entries = output.length;
    if (extrasType === kArrayExtrasType && entries > 6) output = groupArrayElements(ctx, output, value);
    if (ctx.currentDepth - recurseTimes < ctx.compact && entries === output.length) {
      const start = output.length + ctx.indentationLvl + braces[0].length + base.length + 10;
      if (isBelowBreakLength(ctx, output, start, base)) {
        const joined = output.join(", ");
        if (!joined.includes("\n")) return `${base ? `${base} ` : ""}${braces[0]} ${joined} ${braces[1]}`;
      }
    }
    const indentation = `\n${" ".repeat(ctx.indentationLvl)}`;
    return `${base ? `${base} ` : ""}${braces[0]}${indentation}  ${output.join(`,${indentation}  `)}${indentation}${braces[1]}`;
  }

  function inspect(value, opts) {
    const ctx = { seen: [], indentationLvl: 0, currentDepth: 0, depth: 2, breakLength: 80,
      compact: 3, circular: undefined, maxArrayLength: 100, showHidden: false };
    if (opts && typeof opts === "object") {
      for (const k of ["depth", "breakLength", "compact", "maxArrayLength", "showHidden"]) {
        if (opts[k] !== undefined) ctx[k] = opts[k] === Infinity ? Infinity : opts[k];
      }
      if (opts.depth === null) ctx.depth = Infinity;
    }
    return formatValue(ctx, value, 0);
  }
  inspect.custom = customInspect;

  function formatWithOptions(args) {
    const first = args[0];
    let a = 0, str = "", join = "";
    if (typeof first === "string") {
      if (args.length === 1) return first;
      let tempStr, lastPos = 0;
      for (let i = 0; i < first.length - 1; i++) {
        if (first.charCodeAt(i) !== 37) continue; // '%'
        const c = first.charCodeAt(++i);
        if (a + 1 !== args.length) {
          switch (c) {
            case 115: { // s
              const arg = args[++a];
              if (typeof arg === "number") tempStr = formatNumber(arg);
              else if (typeof arg === "bigint") tempStr = `${arg}n`;
              else if (typeof arg !== "object" || arg === null) tempStr = String(arg);
              else tempStr = inspect(arg, { depth: 0 });
              break;
            }
            case 106: tempStr = JSON.stringify(args[++a]); break; // j
            case 100: { // d
              const n = args[++a];
              tempStr = typeof n === "bigint" ? `${n}n` : typeof n === "symbol" ? "NaN" : formatNumber(Number(n));
              break;
            }
            case 79: tempStr = inspect(args[++a]); break; // O
            case 111: tempStr = inspect(args[++a], { depth: 4, showHidden: true }); break; // o
            case 105: { // i
              const n = args[++a];
              tempStr = typeof n === "bigint" ? `${n}n` : typeof n === "symbol" ? "NaN" : formatNumber(parseInt(n));
              break;
            }
            case 102: { const n = args[++a]; tempStr = typeof n === "symbol" ? "NaN" : formatNumber(parseFloat(n)); break; } // f
            case 99: a++; tempStr = ""; break; // c
            case 37: str += first.slice(lastPos, i); lastPos = i + 1; continue;
            default: continue;
          }
          if (lastPos !== i - 1) str += first.slice(lastPos, i - 1);
          str += tempStr;
          lastPos = i + 1;
        } else if (c === 37) {
          str += first.slice(lastPos, i);
          lastPos = i + 1;
        }
      }
      if (lastPos !== 0) {
        a++;
        join = " ";
        if (lastPos < first.length) str += first.slice(lastPos);
      }
    }
    while (a < args.length) {
      const value = args[a];
      str += join;
      str += typeof value !== "string" ? inspect(value) : value;
      join = " ";
      a++;
    }
    return str;
  }


  function renderRow(row, widths) {
    let out = "│ ";
    for (let i = 0; i < row.length; i++) {
      out += row[i] + " ".repeat(widths[i] - row[i].length);
      if (i !== row.length - 1) out += " │ ";
    }
    return out + " │";
  }
  function cliTable(head, columns) {
    const rows = [];
    const widths = head.map((h) => h.length);
    const longest = Math.max(...columns.map((a) => a.length));
    for (let i = 0; i < head.length; i++) {
      const column = columns[i];
      for (let j = 0; j < longest; j++) {
        if (rows[j] === undefined) rows[j] = [];
        const value = rows[j][i] = Object.prototype.hasOwnProperty.call(column, j) ? column[j] : "";
        widths[i] = Math.max(widths[i] || 0, value.length);
      }
    }
    const divider = widths.map((w) => "─".repeat(w + 2));
    let result = `┌${divider.join("┬")}┐\n${renderRow(head, widths)}\n├${divider.join("┼")}┤\n`;
    for (const row of rows) result += `${renderRow(row, widths)}\n`;
    return result + `└${divider.join("┴")}┘`;
  }
  function table(data, properties) {
    if (data === null || typeof data !== "object") return H.tableOut(inspectOrRaw(data));
    const show = (v) => {
      const depth = v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 2 ? -1 : 0;
      return inspect(v, { depth, maxArrayLength: 3, breakLength: Infinity });
    };
    const map = Object.create(null);
    let hasPrimitives = false;
    const valuesKeyArray = [];
    let indexKeyArray;
    let items;
    let indexKey = "(index)";
    if (data instanceof Map) {
      indexKey = "(iteration index)";
      const keys = [], values = [];
      let i = 0;
      for (const [k, v] of data) { keys.push(show(k)); values.push(show(v)); indexKeyArray = null; i++; }
      return H.tableOut(cliTable([indexKey, "Key", "Values"], [Array.from({ length: i }, (_, n) => `${n}`), keys, values]));
    }
    if (data instanceof Set) {
      indexKey = "(iteration index)";
      items = Array.from(data);
      indexKeyArray = items.map((_, n) => `${n}`);
    } else {
      indexKeyArray = Object.keys(data);
      items = indexKeyArray.map((k) => data[k]);
    }
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const primitive = item === null || (typeof item !== "function" && typeof item !== "object");
      if (properties === undefined && primitive) {
        hasPrimitives = true;
        valuesKeyArray[i] = show(item);
      } else {
        const keys = properties || Object.keys(item);
        for (const key of keys) {
          if (map[key] === undefined) map[key] = [];
          map[key][i] = (primitive && properties) || !Object.prototype.hasOwnProperty.call(item, key) ? "" : show(item[key]);
        }
      }
    }
    const keys = Object.keys(map);
    const values = Object.values(map);
    if (hasPrimitives) { keys.push("Values"); values.push(valuesKeyArray); }
    keys.unshift(indexKey);
    values.unshift(indexKeyArray);
    return H.tableOut(cliTable(keys, values));
  }
  function inspectOrRaw(v) { return typeof v === "string" ? v : inspect(v); }
  H.table = table;
  H.inspect = inspect;
  H.format = (...args) => formatWithOptions(args);
  H.formatArgs = formatWithOptions;
  H.strEscape = strEscape;
})(globalThis.__hyphal);
