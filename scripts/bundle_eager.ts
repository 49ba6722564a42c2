/**
 * Rewrites a bundled module so that V8 compiles its functions when the module is compiled, not
 * at their first call. Deno keeps V8's code cache of a module as it was right after compiling
 * it, so a function V8 compiled lazily is compiled again at every start: on the cache-hit paths
 * of `export`, `exec` and `list` that was a large part of the program's own time. V8 compiles at once a
 * function literal that stands in parentheses (its "possibly invoked function expression"
 * heuristic), and those land in the cache.
 *
 * Three rewrites, none of which changes what the code does:
 * - A function or arrow expression not yet in parentheses gets them (a name inferred from a
 *   binding goes through parentheses, so `f.name` stays).
 * - A function declaration that is a statement of a module or function body becomes
 *   `var f = (function (...) {...});`, moved in front of that body's other statements: a
 *   declaration is created when its scope is entered, and so is the function now, before any
 *   statement of the scope runs. Only another module could reach it earlier, by importing it in
 *   a cycle of static imports; {@link assertNoImportCycle} refuses such a bundle.
 * - An object literal's method becomes a property holding a function in parentheses, unless it
 *   uses `super` or has a computed key.
 *
 * Class methods, getters, setters and declarations in blocks stay as they are.
 */
import { parse } from "acorn";
import { fullAncestor } from "acorn-walk";
import MagicString from "magic-string";

/** An acorn node with the fields used here. */
interface Node {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

function isFunctionLiteral(node: Node): boolean {
  return node.type === "FunctionExpression" || node.type === "ArrowFunctionExpression";
}

/** Whether a function literal is a method, whose syntax admits no parentheses. */
function isMethodValue(parent: Node | undefined): boolean {
  if (!parent) return false;
  if (parent.type === "MethodDefinition") return true;
  return parent.type === "Property" && (parent.method === true || parent.kind !== "init");
}

/**
 * An object literal's method `m(...) {...}` that may become `m: (function (...) {...})`: a plain
 * key (not computed), and no `super` in it (only a method has a home object). Getters and
 * setters stay. What changes is only what nobody does here: `new obj.m()` and `obj.m.prototype`.
 */
function isPlainObjectMethod(node: Node, source: string): boolean {
  if (node.type !== "Property" || node.method !== true || node.kind !== "init") return false;
  if (node.computed) return false;
  const value = node.value as Node;
  return !/\bsuper\b/.test(source.slice(value.start, value.end));
}

/** The statement list of a module or function body, when `body` is one. */
function scopeBody(body: Node, owner: Node | undefined): Node[] | undefined {
  if (body.type === "Program") return body.body as Node[];
  const isFunction = owner !== undefined && /Function/.test(owner.type) && owner.body === body;
  return body.type === "BlockStatement" && isFunction ? body.body as Node[] : undefined;
}

/** `function`, `async function`, `function*` or `async function*`, as `fn` is. */
function functionKeyword(fn: Node): string {
  return `${fn.async ? "async " : ""}function${fn.generator ? "*" : ""}`;
}

function isPrologue(statement: Node): boolean {
  return statement.type === "ImportDeclaration" ||
    (statement.type === "ExpressionStatement" && typeof statement.directive === "string");
}

/** The module's text with its functions marked for eager compilation (see the module doc). */
export function eagerFunctions(source: string): string {
  const program = parse(source, {
    ecmaVersion: "latest",
    sourceType: "module",
    preserveParens: true,
  }) as unknown as Node;
  const out = new MagicString(source);
  const hoisted = new Map<Node, Node[]>();
  fullAncestor(program as never, (raw, _state, ancestors) => {
    const node = raw as unknown as Node;
    const path = ancestors as unknown as Node[];
    const parent = path[path.length - 2];
    if (isPlainObjectMethod(node, source)) {
      const value = node.value as Node;
      const key = node.key as Node;
      const head = `${source.slice(key.start, key.end)}: (${functionKeyword(value)}`;
      out.overwrite(node.start, value.start, head);
      out.appendLeft(value.end, ")");
      return;
    }
    if (isFunctionLiteral(node)) {
      if (parent?.type === "ParenthesizedExpression" || isMethodValue(parent)) return;
      out.prependRight(node.start, "(");
      out.appendLeft(node.end, ")");
      return;
    }
    if (node.type !== "FunctionDeclaration" || !node.id || !parent) return;
    const statements = scopeBody(parent, path[path.length - 3]);
    if (!statements?.includes(node)) return;
    const id = node.id as Node & { name: string };
    out.overwrite(node.start, id.end, `var ${id.name} = (${functionKeyword(node)} `);
    out.appendLeft(node.end, ");\n");
    hoisted.set(parent, [...(hoisted.get(parent) ?? []), node]);
  });
  for (const [body, declarations] of hoisted) {
    const statements = body.body as Node[];
    // The first statement that is neither prologue nor one of the declarations: those before it
    // already run first and stay; the others move there, in their order.
    const first = statements.find((s) => !isPrologue(s) && !declarations.includes(s));
    if (!first) continue;
    for (const declaration of declarations) {
      if (declaration.start > first.start) {
        out.move(declaration.start, declaration.end, first.start);
      }
    }
  }
  return out.toString();
}

/** The modules a module imports statically (its import and re-export declarations). */
export function staticImports(source: string): string[] {
  const program = parse(source, { ecmaVersion: "latest", sourceType: "module" }) as unknown as Node;
  const found: string[] = [];
  for (const statement of program.body as Node[]) {
    const from = statement.source as { value?: unknown } | null | undefined;
    if (from && typeof from.value === "string") found.push(from.value);
  }
  return found;
}

/**
 * Throws when the modules (`{ file name: text }`, importing each other as `./name`) import each
 * other statically in a cycle: then a module could call a function of another before that one
 * ran, which {@link eagerFunctions} does not allow for.
 */
export function assertNoImportCycle(modules: Record<string, string>): void {
  const imports = new Map<string, string[]>();
  for (const [name, text] of Object.entries(modules)) {
    imports.set(
      name,
      staticImports(text).filter((s) => s.startsWith("./")).map((s) => s.slice(2)),
    );
  }
  const done = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    if (path.includes(name)) {
      throw new Error(`static import cycle in the bundle: ${[...path, name].join(" -> ")}`);
    }
    if (done.has(name)) return;
    for (const next of imports.get(name) ?? []) visit(next, [...path, name]);
    done.add(name);
  };
  for (const name of imports.keys()) visit(name, []);
}
