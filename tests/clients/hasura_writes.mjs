// Drives the real Hasura clients' create, update and delete against the gateway.
// usage: node hasura_writes.mjs <graphql url> < plan.json
// plan: [{"role": r, "token": t, "client": "ra"|"refine", "op": "create"|"update"|"delete", ...}]
// prints one JSON list: {ok: result} or {error: message} per step, in order.
import { ApolloClient, HttpLink, InMemoryCache } from "@apollo/client/core/index.js";
import raHasura from "ra-data-hasura";
import refineHasura from "@refinedev/hasura";
import { GraphQLClient } from "graphql-request";
import { readFileSync } from "node:fs";

const buildHasuraProvider = raHasura.default ?? raHasura;
const dataProviderOfRefine = refineHasura.default ?? refineHasura.dataProvider ?? refineHasura;
const url = process.argv[2];
const plan = JSON.parse(readFileSync(0, "utf-8"));
const providers = {};

async function provider(step) {
  const key = `${step.client}:${step.role}`;
  if (!providers[key]) {
    const headers = { Authorization: `Bearer ${step.token}` };
    if (step.client === "ra") {
      const apollo = new ApolloClient({
        link: new HttpLink({ uri: url, headers, fetch }),
        cache: new InMemoryCache(),
        defaultOptions: { query: { fetchPolicy: "no-cache" }, mutate: { fetchPolicy: "no-cache" } },
      });
      providers[key] = await buildHasuraProvider({ client: apollo });
    } else {
      providers[key] = dataProviderOfRefine(new GraphQLClient(url, { headers }), {
        idType: "uuid",
        namingConvention: "hasura-default",
      });
    }
  }
  return providers[key];
}

const out = [];
for (const step of plan) {
  try {
    const p = await provider(step);
    const meta = { fields: step.fields ?? ["id", "asset_tag", "status"] };
    let result;
    if (step.client === "ra") {
      if (step.op === "create") result = await p.create(step.resource, { data: step.data });
      if (step.op === "update") {
        const previous = (await p.getOne(step.resource, { id: step.id })).data;
        result = await p.update(step.resource, { id: step.id, data: { ...previous, ...step.data }, previousData: previous });
      }
      if (step.op === "delete") {
        const previous = (await p.getOne(step.resource, { id: step.id })).data;
        result = await p.delete(step.resource, { id: step.id, previousData: previous });
      }
    } else {
      if (step.op === "create") result = await p.create({ resource: step.resource, variables: step.data, meta });
      if (step.op === "update") result = await p.update({ resource: step.resource, id: step.id, variables: step.data, meta });
      if (step.op === "delete") result = await p.deleteOne({ resource: step.resource, id: step.id, meta });
    }
    out.push({ ok: result?.data ?? null });
  } catch (error) {
    out.push({ error: String(error?.message ?? error) });
  }
}
console.log(JSON.stringify(out));
