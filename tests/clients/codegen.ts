// GraphQL Code Generator over plantrack's schema, twice: from the repository's exported
// SDL (../../schema.graphql) and from live introspection of a running server
// (PLANTRACK_URL). `strictScalars` makes an unmapped custom scalar an error instead of
// `any`, so a scalar added to the server without a mapping here fails the check.
import type { CodegenConfig } from '@graphql-codegen/cli';

const url = process.env.PLANTRACK_URL;
if (!url) throw new Error('PLANTRACK_URL is not set (run this through run.sh)');

const config = {
  strictScalars: true,
  scalars: {
    // `YYYY-MM-DD`, and an RFC 3339 instant in UTC with milliseconds.
    Date: 'string',
    DateTime: 'string',
    // Any JSON value (an audit entry's before/after).
    JSON: '../json-value#JsonValue',
  },
  enumsAsTypes: true,
  useTypeImports: true,
};

// The schema's types (`typescript`), and the operations' types (`typescript-operations`,
// which since its version 6 writes the enums and inputs it uses itself, so it gets a
// file of its own).
const outputs = (name: string, schema: string) => ({
  [`generated/${name}-schema.ts`]: { schema, plugins: ['typescript'], config },
  [`generated/${name}-operations.ts`]: {
    schema,
    documents: 'operations.graphql',
    plugins: ['typescript-operations'],
    config,
  },
});

const codegen: CodegenConfig = {
  overwrite: true,
  generates: {
    ...outputs('file', '../../schema.graphql'),
    ...outputs('live', url),
  },
};

export default codegen;
