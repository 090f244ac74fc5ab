// Drives the real Hasura clients against the gateway; prints one JSON document of results.
// usage: node hasura_clients.mjs <graphql url> <role>=<token> ...
import { ApolloClient, HttpLink, InMemoryCache } from "@apollo/client/core/index.js";
import raHasura from "ra-data-hasura";
import refineHasura from "@refinedev/hasura";
import { GraphQLClient } from "graphql-request";

const buildHasuraProvider = raHasura.default ?? raHasura;
const dataProviderOfRefine = refineHasura.default ?? refineHasura.dataProvider ?? refineHasura;
const [url, ...pairs] = process.argv.slice(2);
const out = {};

async function attempt(fn) {
  try {
    return { ok: await fn() };
  } catch (error) {
    return { error: String(error?.message ?? error) };
  }
}

for (const pair of pairs) {
  const [role, token] = pair.split("=");
  const headers = { Authorization: `Bearer ${token}` };
  const apollo = new ApolloClient({
    link: new HttpLink({ uri: url, headers, fetch }),
    cache: new InMemoryCache(),
    defaultOptions: { query: { fetchPolicy: "no-cache" }, watchQuery: { fetchPolicy: "no-cache" } },
  });
  const ra = await attempt(() => buildHasuraProvider({ client: apollo }));
  const results = { ra: {}, refine: {} };
  if (ra.error) {
    results.ra.build = ra;
  } else {
    const p = ra.ok;
    results.ra.getList = await attempt(() =>
      p.getList("assets", {
        pagination: { page: 1, perPage: 50 },
        sort: { field: "asset_tag", order: "DESC" },
        filter: { status: "in_use" },
      }),
    );
    const first = results.ra.getList.ok?.data?.[0]?.id;
    results.ra.getOne = await attempt(() => p.getOne("assets", { id: first }));
    const ids = (results.ra.getList.ok?.data ?? []).map((r) => r.id);
    results.ra.getMany = await attempt(() => p.getMany("assets", { ids }));
  }
  const refine = dataProviderOfRefine(new GraphQLClient(url, { headers }), { idType: "uuid", namingConvention: "hasura-default" });
  const meta = { fields: ["id", "asset_tag", "status", "category"] };
  results.refine.getList = await attempt(() =>
    refine.getList({
      resource: "assets",
      pagination: { current: 1, pageSize: 50 },
      sorters: [{ field: "asset_tag", order: "asc" }],
      filters: [{ field: "status", operator: "eq", value: "in_use" }],
      meta,
    }),
  );
  const firstRefine = results.refine.getList.ok?.data?.[0]?.id;
  results.refine.getOne = await attempt(() => refine.getOne({ resource: "assets", id: firstRefine, meta }));
  const refineIds = (results.refine.getList.ok?.data ?? []).map((r) => r.id);
  results.refine.getMany = await attempt(() => refine.getMany({ resource: "assets", ids: refineIds, meta }));
  out[role] = results;
}
console.log(JSON.stringify(out));
