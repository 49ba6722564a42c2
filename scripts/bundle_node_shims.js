// The `require` of the bundled aws-vault: scripts/bundle.ts puts this before the bundle, where
// esbuild's `__require` finds it (or in place of the `createRequire` that `deno bundle` emits). commander, a CommonJS package, requires
// node:events, node:child_process, node:fs, node:path and node:process at load time; Deno's real
// modules cost ~35 ms of startup. commander only needs an event emitter and a few process fields
// for what aws-vault uses, so those come from Deno directly. child_process, fs and path are used
// by commander only for stand-alone executable subcommands, which aws-vault does not have: they
// throw if ever reached. Anything else falls back to Deno's real built-in module.
// deno-lint-ignore-file no-var no-unused-vars
var require = (() => {
  class EventEmitter {
    #listeners = new Map();
    on(event, listener) {
      const list = this.#listeners.get(event) ?? [];
      list.push(listener);
      this.#listeners.set(event, list);
      return this;
    }
    addListener(event, listener) {
      return this.on(event, listener);
    }
    off(event, listener) {
      const list = this.#listeners.get(event) ?? [];
      const i = list.lastIndexOf(listener);
      if (i >= 0) list.splice(i, 1);
      return this;
    }
    removeListener(event, listener) {
      return this.off(event, listener);
    }
    once(event, listener) {
      const wrapped = (...args) => {
        this.off(event, wrapped);
        listener.apply(this, args);
      };
      return this.on(event, wrapped);
    }
    emit(event, ...args) {
      const list = this.#listeners.get(event);
      if (!list || list.length === 0) return false;
      for (const listener of [...list]) listener.apply(this, args);
      return true;
    }
    listenerCount(event) {
      return this.#listeners.get(event)?.length ?? 0;
    }
  }

  const encoder = new TextEncoder();
  const stream = (file) => ({
    get isTTY() {
      return file.isTerminal();
    },
    get columns() {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return undefined;
      }
    },
    hasColors: () => file.isTerminal() && !Deno.noColor,
    write(text) {
      let data = encoder.encode(String(text));
      while (data.length > 0) data = data.subarray(file.writeSync(data));
      return true;
    },
  });
  const process = {
    env: new Proxy({}, {
      has: (_, name) => typeof name === "string" && Deno.env.get(name) !== undefined,
      get: (_, name) => (typeof name === "string" ? Deno.env.get(name) : undefined),
    }),
    stdout: stream(Deno.stdout),
    stderr: stream(Deno.stderr),
    get argv() {
      return [Deno.execPath(), Deno.mainModule, ...Deno.args];
    },
    execArgv: [],
    get execPath() {
      return Deno.execPath();
    },
    versions: {},
    platform: Deno.build.os === "windows" ? "win32" : Deno.build.os,
    exitCode: undefined,
    exit: (code) => Deno.exit(code ?? 0),
    on: () => process,
  };
  const unsupported = (name) =>
    new Proxy({}, {
      get: (_, member) => () => {
        throw new Error(`${name}.${String(member)} is not available in the bundled aws-vault`);
      },
    });

  const shims = {
    "node:events": { EventEmitter, default: EventEmitter },
    "node:process": process,
    "node:child_process": unsupported("node:child_process"),
    "node:fs": unsupported("node:fs"),
    "node:path": unsupported("node:path"),
  };
  return (name) => shims[name] ?? globalThis.process.getBuiltinModule(name);
})();
