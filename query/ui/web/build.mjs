// Builds the production bundle the Go binary embeds (query/ui/dist):
// index.html, app.js, app.css and licenses.txt (the licences of the npm
// packages inside app.js). Minified, without source maps, timestamps or
// absolute paths, so the same sources give the same bytes on every machine:
// `make ui-check` rebuilds into a temporary directory and compares.
//
//   node build.mjs                 # writes ../dist
//   node build.mjs --outdir DIR    # writes DIR
import * as esbuild from "esbuild";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let outdir = path.join(here, "..", "dist");
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--outdir" && args[i + 1]) outdir = path.resolve(args[++i]);
  else {
    console.error(`build.mjs: unknown argument ${JSON.stringify(args[i])}; usage: node build.mjs [--outdir DIR]`);
    process.exit(2);
  }
}

let result;
try {
  result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: { app: "src/main.tsx" },
    outdir: "out", // nothing is written here (write: false); names only
    write: false,
    bundle: true,
    format: "esm",
    target: ["chrome120", "firefox120", "safari17"],
    minify: true,
    sourcemap: false,
    legalComments: "none", // collected into licenses.txt instead
    charset: "utf8",
    jsx: "automatic",
    jsxImportSource: "preact",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
    metafile: true,
  });
} catch {
  // esbuild has printed the errors with file and line. The previous
  // bundle is left as it was, so `go build` keeps working.
  console.error("build.mjs: the bundle was not built");
  process.exit(1);
}

const files = new Map();
for (const f of result.outputFiles) files.set(path.basename(f.path), f.contents);
files.set("index.html", await readFile(path.join(here, "src", "index.html")));
files.set("licenses.txt", Buffer.from(await licenses(result.metafile)));

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
for (const [name, contents] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
  await writeFile(path.join(outdir, name), contents);
  console.log(`${name.padEnd(13)} ${(contents.length / 1024).toFixed(1).padStart(6)} KiB`);
}

/** The licence text of every npm package with code in the bundle, sorted by name. */
async function licenses(metafile) {
  const pkgs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) pkgs.add(m[1]);
  }
  let out = "Third-party software in app.js\n";
  for (const name of [...pkgs].sort()) {
    const dir = path.join(here, "node_modules", name);
    const pkg = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8"));
    const file = ["LICENSE", "LICENSE.md", "LICENSE.txt", "license"].find((f) => existsSync(path.join(dir, f)));
    if (!file) throw new Error(`build.mjs: ${name} has no LICENSE file to ship`);
    const text = (await readFile(path.join(dir, file), "utf8")).trim();
    out += `\n== ${name} ${pkg.version} (${pkg.license})\n\n${text}\n`;
  }
  return out;
}
