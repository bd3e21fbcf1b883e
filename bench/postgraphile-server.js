// PostGraphile v4 in library mode for the benchmark (bench/BENCHMARKS.md).
//   PG_URL=postgres://bench_postgraphile@127.0.0.1:5544/plantrack_bench PORT=8125 node bench/postgraphile-server.js
// Connects as a login role that owns nothing and is granted plantrack_app; every request
// runs in a transaction as plantrack_app with app.agency_id / app.role / app.plan_ids set
// from the request headers (x-agency-id, x-role, x-plan-ids), like plantrack's scoped
// transactions, so the same row-level security policies apply. The headers are trusted:
// this is a benchmark stand-in for a verified JWT (no database lookup per request).
'use strict';
const http = require('node:http');
const { Pool } = require('pg');
const { postgraphile } = require('postgraphile');

const pool = new Pool({
  connectionString: process.env.PG_URL,
  max: Number(process.env.PG_POOL_MAX || 10), // plantrack's --db-max-connections default
});
const middleware = postgraphile(pool, 'public', {
  graphqlRoute: '/graphql',
  graphiql: false,
  disableQueryLog: true,
  ignoreRBAC: false,
  dynamicJson: true,
  setofFunctionsContainNulls: false,
  enableQueryBatching: false,
  retryOnInitFail: false,
  watchPg: false,
  pgSettings: (req) => ({
    role: 'plantrack_app',
    'app.agency_id': String(req.headers['x-agency-id'] || ''),
    'app.role': String(req.headers['x-role'] || ''),
    'app.plan_ids': String(req.headers['x-plan-ids'] || ''),
  }),
});

const server = http.createServer(middleware);
server.keepAliveTimeout = 65000;
server.listen(Number(process.env.PORT || 8125), process.env.HOST || '127.0.0.1', () => {
  console.log(`postgraphile listening on ${process.env.HOST || '127.0.0.1'}:${process.env.PORT || 8125}`);
});
const stop = () => server.close(() => pool.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
