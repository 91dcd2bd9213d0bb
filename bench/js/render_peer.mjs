// The template benchmark's peer (bench/template_bench.sh): handlebars.js renders the same
// newsletter template and data as bench/template_render.cpp, on one thread, for SECONDS.
// SES semantics: no HTML escaping (noEscape) and missing attributes are errors (strict).
// usage: node render_peer.mjs DIR SECONDS
import fs from "node:fs";
import Handlebars from "handlebars";

const [dir, secondsArg] = process.argv.slice(2);
const source = fs.readFileSync(`${dir}/template.hbs`, "utf8");
const data = JSON.parse(fs.readFileSync(`${dir}/data.json`, "utf8"));
const template = Handlebars.compile(source, { noEscape: true, strict: true });
fs.writeFileSync(`${dir}/peer.out`, template(data));
// Warm-up, so the JIT has compiled the template function before timing starts.
for (let i = 0; i < 20000; i++) template(data);
const seconds = Number(secondsArg);
const start = process.hrtime.bigint();
const deadline = start + BigInt(Math.round(seconds * 1e9));
let renders = 0;
let sink = 0;
while (process.hrtime.bigint() < deadline) {
  for (let i = 0; i < 1000; i++) sink += template(data).length;
  renders += 1000;
}
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`renders=${renders} seconds=${elapsed.toFixed(2)} renders_per_s=${Math.round(renders / elapsed)} output_chars=${sink / renders}`);
