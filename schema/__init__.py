"""GraphQL: types, filters, ordering and resolvers built from the unified model."""
