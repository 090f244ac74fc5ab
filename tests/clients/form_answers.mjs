// Validates answers against a request form's JSON Schema with ajv (draft 2020-12, ajv-formats),
// as a browser form renderer would (react-jsonschema-form's validator-ajv8 uses the same);
// prints one JSON document: case name → {valid, fields} (the fields the errors are about).
// usage: node form_answers.mjs < {"forms": {name: schema}, "cases": [{name, form, answers}]}
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const addFormats = addFormatsModule.default ?? addFormatsModule;

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { forms, cases } = JSON.parse(input);

// strict: a keyword ajv does not know, or a schema it reads two ways, is an error, not a warning
const ajv = new Ajv2020({ allErrors: true, strict: true, useDefaults: true });
addFormats(ajv);
const validators = Object.fromEntries(Object.entries(forms).map(([name, schema]) => [name, ajv.compile(schema)]));

function fieldOf(error) {
  if (error.keyword === "required") return error.params.missingProperty;
  if (error.keyword === "unevaluatedProperties") return error.params.unevaluatedProperty;
  return error.instancePath.split("/").slice(1).join(".");
}

const out = {};
for (const { name, form, answers } of cases) {
  const data = structuredClone(answers);
  const valid = validators[form](data);
  // `if` only says its `then` failed, which has its own errors
  const errors = (validators[form].errors ?? []).filter((e) => e.keyword !== "if");
  out[name] = { valid, fields: [...new Set(errors.map(fieldOf))].sort(), errors };
}
console.log(JSON.stringify(out));
