/** scripts/bundle_eager.ts: the rewrite for eager compilation keeps what the code does. */
import assert from "node:assert/strict";
import { assertNoImportCycle, eagerFunctions, staticImports } from "../../scripts/bundle_eager.ts";

/** Runs a module's text (rewritten or not) and returns its `result` export. */
async function run(source: string): Promise<unknown> {
  const url = `data:text/javascript;base64,${new TextEncoder().encode(source).toBase64()}`;
  return (await import(url)).result;
}

/** Each case: a module whose `result` must be the same before and after the rewrite. */
const CASES: Record<string, string> = {
  "a declaration called before its place, at module level and in a function": `
    const early = f(2);
    function f(x) { return x * 3; }
    function outer() { const r = inner(); function inner() { return "in"; } return r; }
    export const result = [early, outer(), f.name, f.length, inner2.name];
    function inner2(a, b) {}`,
  "async, generator and async generator declarations": `
    async function a() { return 1; }
    function* g() { yield 2; yield 3; }
    async function* ag() { yield 4; }
    const all = [];
    for await (const v of ag()) all.push(v);
    export const result = [await a(), [...g()], all, a.name, g.name, ag.name];`,
  "names inferred through the parentheses, arrows and expressions": `
    const arrow = (x) => x + 1;
    const expr = function (x) { return x - 1; };
    const named = function inner() { return typeof inner; };
    const obj = { m() { return "m"; }, p: () => "p", get g() { return "g"; } };
    class C { static s = () => "s"; method() { return super.toString !== undefined; } }
    export const result = [arrow.name, expr.name, named(), named.name, obj.m(), obj.p(), obj.g,
      obj.p.name, C.s(), C.s.name, new C().method(), [1, 2].map((v) => v * 2)];`,
  "object literal methods: this, names, async and generator ones; super keeps its method": `
    const base = { hello() { return "base"; } };
    const o = {
      n: 2,
      twice(x) { return x * this.n; },
      async later() { return this.n; },
      *gen() { yield this.n; },
      viaSuper() { return super.hello(); },
      get g() { return this.n; },
      ["comp" + "uted"]() { return "c"; },
    };
    Object.setPrototypeOf(o, base);
    export const result = [o.twice(3), await o.later(), [...o.gen()], o.viaSuper(), o.g,
      o.computed(), o.twice.name, o.later.name, o.gen.name, o.viaSuper.name];`,
  "this, arguments and new.target keep their meaning": `
    function f() { return [this === undefined, arguments.length, new.target === undefined]; }
    function Ctor() { this.made = new.target === Ctor; }
    const bound = { v: 7, get() { return [1].map(() => this.v); } };
    export const result = [f(1, 2), new Ctor().made, bound.get()];`,
  "a later declaration of the same name wins, as before (in a function body)": `
    function body() {
      const first = twice();
      function twice() { return 1; }
      function twice() { return 2; }
      return [first, twice()];
    }
    export const result = body();`,
  "declarations in blocks, directives and already parenthesized functions stay": `
    function strict() { "use strict"; return helper(); function helper() { return this; } }
    let inBlock;
    { function blockFn() { return "block"; } inBlock = blockFn(); }
    const iife = (function () { return "iife"; })();
    const wrapped = ((x) => x)("wrapped");
    export const result = [strict() === undefined, inBlock, iife, wrapped];`,
  "exported declarations and default exports": `
    export function exported() { return "e"; }
    export default function () { return "d"; }
    const viaArrow = () => exported();
    export const result = [viaArrow(), exported.name];`,
};

for (const [name, source] of Object.entries(CASES)) {
  Deno.test(`eagerFunctions: ${name}`, async () => {
    const rewritten = eagerFunctions(source);
    assert.notEqual(rewritten, source, "nothing was rewritten");
    assert.deepEqual(await run(rewritten), await run(source), rewritten);
  });
}

Deno.test("eagerFunctions: every function literal is in parentheses, class methods are left alone", () => {
  const out = eagerFunctions(
    "function f(a){return a}const g=a=>a,h=async function(){};class K{m(){return 1}}" +
      "const o={m(a){return a},s(){return super.m()}};",
  );
  assert.match(out, /o=\{m: \(function\(a\)\{return a\}\),s\(\)\{return super\.m\(\)\}\}/);
  assert.match(out, /var f = \(function ?\(a\)\{return a\}\);/);
  assert.match(out, /g=\(a=>a\)/);
  assert.match(out, /h=\(async function\(\)\{\}\)/);
  assert.match(out, /class K\{m\(\)\{return 1\}\}/);
  // A second pass adds nothing: what is in parentheses stays as it is.
  assert.equal(eagerFunctions(out), out);
});

Deno.test("eagerFunctions: the hoisted functions come before the module's first statement", () => {
  const out = eagerFunctions('import{a}from"./x.js";a(f());function f(){return 1}');
  assert.ok(out.startsWith('import{a}from"./x.js";var f = (function'), out);
  assert.ok(out.indexOf("var f") < out.indexOf("a(f())"), out);
});

Deno.test("staticImports and assertNoImportCycle: a cycle of static imports is refused", () => {
  assert.deepEqual(
    staticImports(
      'import{a}from"./a.js";import"./b.js";export{c}from"./c.js";export*from"./d.js";' +
        'import(new URL("./e.js", import.meta.url).href);',
    ),
    ["./a.js", "./b.js", "./c.js", "./d.js"],
  );
  assertNoImportCycle({
    "main.js": 'import"./a.js";import(new URL("./b.js", import.meta.url).href);',
    "a.js": 'import"./c.js";',
    "b.js": 'import"./main.js";import"./a.js";',
    "c.js": "",
  });
  assert.throws(
    () => assertNoImportCycle({ "a.js": 'import"./b.js";', "b.js": 'export*from"./a.js";' }),
    /static import cycle in the bundle: a\.js -> b\.js -> a\.js/,
  );
});
