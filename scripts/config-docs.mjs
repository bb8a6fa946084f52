// `npm run docs:config`: writes .env.example and the README's configuration table from the config table.
import { readFileSync, writeFileSync } from "node:fs";
import { renderConfigTable, renderEnvExample } from "@llmgw/config";

const root = new URL("..", import.meta.url).pathname;
const BEGIN = "<!-- config-table:begin -->";
const END = "<!-- config-table:end -->";

writeFileSync(`${root}.env.example`, renderEnvExample());
const readme = readFileSync(`${root}README.md`, "utf8");
const start = readme.indexOf(BEGIN);
const end = readme.indexOf(END);
if (start === -1 || end === -1) throw new Error(`README.md lacks the ${BEGIN} … ${END} markers`);
writeFileSync(`${root}README.md`, `${readme.slice(0, start + BEGIN.length)}\n${renderConfigTable()}\n${readme.slice(end)}`);
console.log("wrote .env.example and the README configuration table");
