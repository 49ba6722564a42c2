// deno task bench's baseline: `deno run` of an empty script in the project folder, for which
// Deno reads this folder's deno.json and deno.lock, as it does for main.ts.
