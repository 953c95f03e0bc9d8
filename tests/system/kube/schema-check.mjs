// Validate Kubernetes objects (a JSON array on stdin) against the API's
// JSON schemas as the kubernetes-models package bundles them. The package
// directory is argv[2]. Prints one line per invalid object; exit 1 if any.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const pkg = process.argv[2];
// A v1 List has no schema of its own: its items are checked one by one.
const objects = JSON.parse(readFileSync(0, "utf8")).flatMap((o) =>
  o && o.kind === "List" && Array.isArray(o.items) ? o.items : [o],
);
let bad = 0;
for (const [i, obj] of objects.entries()) {
  const where = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"} (document ${i + 1})`;
  if (!obj.apiVersion || !obj.kind) {
    console.log(`${where}: no apiVersion or kind`);
    bad++;
    continue;
  }
  // "v1" -> v1/Kind.js, "apps/v1" -> apps/v1/Kind.js
  const file = `${pkg}/${obj.apiVersion}/${obj.kind}.js`;
  let Model;
  try {
    Model = (await import(pathToFileURL(file).href))[obj.kind];
  } catch (e) {
    console.log(`${where}: no schema for ${obj.apiVersion} ${obj.kind}`);
    bad++;
    continue;
  }
  try {
    new Model(obj).validate();
    console.log(`${where}: valid`);
  } catch (e) {
    console.log(`${where}: ${e.message}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
