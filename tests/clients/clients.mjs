// The standard JavaScript GraphQL clients against a running plantrack, each with its
// defaults: only the URL and an Authorization header are set (and, to see what went over
// the wire, a fetch that records each request and passes it on unchanged).
//
// Environment (run.sh sets it): PLANTRACK_URL (http://HOST:PORT/graphql), and the users
// PT_EDITOR / PT_EDITOR_PASSWORD (a district EDITOR of ubnd-tay-son) and
// PT_COORDINATOR / PT_COORDINATOR_PASSWORD (the plan's coordinator, so-ldtbxh) and
// PT_ANALYST / PT_ANALYST_PASSWORD (an ANALYST).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { Client as UrqlClient, cacheExchange, fetchExchange, gql as urqlGql } from '@urql/core';
import { ApolloClient, HttpLink, InMemoryCache, gql as apolloGql } from '@apollo/client/core';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { ClientError, GraphQLClient } from 'graphql-request';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';

import {
  assertDate,
  assertDateTime,
  assertErrorShape,
  assertLocations,
  check,
  env,
  finish,
  recordingFetch,
  sleep,
  waitFor,
} from './lib.mjs';

const URL_HTTP = env('PLANTRACK_URL');
const URL_WS = `${URL_HTTP.replace(/^http/, 'ws')}/ws`;
const PLAN = '768/QĐ-UBND';
const DISTRICT = 'ubnd-tay-son';
const PERIOD = '2025';

const bearer = (token) => ({ Authorization: `Bearer ${token}` });
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** What the checks hand on to later ones. */
const state = {};
function need(key, from) {
  if (state[key] === undefined) throw new Error(`no ${key}: the check "${from}" did not get one`);
  return state[key];
}

// The plan query of the README's API tour.
const PLAN_QUERY = `{
  plan(code: "768/QĐ-UBND") {
    title issuedOn startYear endYear
    coordinator { code name }
    sections { numeral title tasks { number content } }
  }
}`;

function assertPlan(plan, who) {
  assert.ok(plan, `${who}: plan(code: "${PLAN}") is not null`);
  assert.match(plan.title, /giảm nghèo/i, `${who}: the plan's title`);
  assertDate(plan.issuedOn, `${who}: plan.issuedOn`);
  assert.equal(plan.issuedOn, '2022-03-11', `${who}: plan.issuedOn`);
  assert.equal(plan.coordinator.code, 'so-ldtbxh', `${who}: the plan's coordinator`);
  assert.deepEqual(
    plan.sections.map((s) => s.numeral),
    ['I', 'II', 'III', 'IV', 'V', 'TCTH'],
    `${who}: the appendix's five sections and the body's duties`,
  );
  const tasks = plan.sections.reduce((n, s) => n + s.tasks.length, 0);
  assert.equal(tasks, 23, `${who}: 20 tasks in the appendix, 3 duties in the body`);
}

// ---------------------------------------------------------------- graphql-request: sign in

const LOGIN = `mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) { token expiresAt user { username role } }
}`;

await check('graphql-request: login as the district editor, the coordinator and an analyst', async () => {
  const log = [];
  const client = new GraphQLClient(URL_HTTP, { fetch: recordingFetch(log) });
  for (const [key, user, password, role] of [
    ['editor', env('PT_EDITOR'), env('PT_EDITOR_PASSWORD'), 'EDITOR'],
    ['coordinator', env('PT_COORDINATOR'), env('PT_COORDINATOR_PASSWORD'), 'COORDINATOR'],
    ['analyst', env('PT_ANALYST'), env('PT_ANALYST_PASSWORD'), 'ANALYST'],
  ]) {
    const { login } = await client.request(LOGIN, { username: user, password });
    assert.equal(typeof login.token, 'string');
    assert.ok(login.token.length >= 20, 'a token of some length');
    assert.equal(login.user.username, user);
    assert.equal(login.user.role, role);
    assertDateTime(login.expiresAt, 'login.expiresAt');
    assert.ok(new Date(login.expiresAt) > new Date(), 'the token expires in the future');
    state[`${key}Token`] = login.token;
  }
  assert.deepEqual(log.map((r) => r.method), ['POST', 'POST', 'POST'], 'graphql-request sends POST');
});

// ------------------------------------------------------------------------------ urql

// urql with its defaults: only the URL, the bearer token and the recording fetch set.
const urqlClient = (log, token) =>
  new UrqlClient({
    url: URL_HTTP,
    exchanges: [cacheExchange, fetchExchange],
    fetch: recordingFetch(log),
    fetchOptions: { headers: bearer(token) },
  });

await check('urql: the plan query goes as GET (preferGetMethod default) and returns the plan', async () => {
  const log = [];
  const client = urqlClient(log, need('coordinatorToken', 'login'));
  const result = await client.query(urqlGql(PLAN_QUERY), {}).toPromise();
  assert.equal(result.error, undefined, `no error: ${result.error}`);
  assertPlan(result.data.plan, 'urql');
  assert.equal(log.length, 1, 'one request');
  assert.equal(log[0].method, 'GET', `urql's default sends a query as GET (sent ${log[0].method})`);
  const sent = new URL(log[0].url);
  assert.ok(sent.searchParams.get('query')?.includes('plan(code:'), 'the query is in the URL');
  assert.equal(log[0].status, 200);
  assert.match(log[0].contentType, /^application\/graphql-response\+json/, 'answered as urql asked first');
});

await check('urql: a mutation goes as POST and works (the coordinator opens the 2025 window)', async () => {
  const log = [];
  const client = urqlClient(log, need('coordinatorToken', 'login'));
  const day = 24 * 3600 * 1000;
  const now = Date.now();
  const input = {
    planCode: PLAN,
    periodCode: PERIOD,
    opensAt: new Date(now - day).toISOString(),
    dueAt: new Date(now + 30 * day).toISOString(),
    closesAt: new Date(now + 60 * day).toISOString(),
  };
  const result = await client
    .mutation(
      urqlGql`mutation Open($input: OpenReportingWindowInput!) {
        openReportingWindow(input: $input) { period { code } isOpen opensAt dueAt closesAt }
      }`,
      { input },
    )
    .toPromise();
  assert.equal(result.error, undefined, `no error: ${result.error}`);
  const window = result.data.openReportingWindow;
  assert.equal(window.period.code, PERIOD);
  assert.equal(window.isOpen, true);
  for (const key of ['opensAt', 'dueAt', 'closesAt']) {
    assertDateTime(window[key], `openReportingWindow.${key}`);
    assert.equal(window[key], input[key], `${key} comes back as sent (millisecond precision kept)`);
  }
  assert.deepEqual(log.map((r) => r.method), ['POST'], 'urql sends a mutation as POST');
});

// ----------------------------------------------------------------------- Apollo Client

function apollo(token, log, link) {
  const http = new HttpLink({ uri: URL_HTTP, headers: bearer(token), fetch: recordingFetch(log) });
  return new ApolloClient({ link: link ? link.concat(http) : http, cache: new InMemoryCache() });
}

await check('Apollo Client (core, HttpLink defaults): the plan query', async () => {
  const log = [];
  const client = apollo(need('editorToken', 'login'), log);
  const { data } = await client.query({ query: apolloGql(PLAN_QUERY) });
  assertPlan(data.plan, 'Apollo');
  assert.deepEqual(log.map((r) => r.method), ['POST'], 'HttpLink sends POST by default');
  assert.equal(log[0].status, 200);
});

await check('Apollo Client: a query with variables (the tasks Tây Sơn leads in section I)', async () => {
  const log = [];
  const client = apollo(need('editorToken', 'login'), log);
  const { data } = await client.query({
    query: apolloGql`
      query LedTasks($agency: String!, $numeral: String!) {
        tasks(filter: { leadAgencies: { some: { code: { equalTo: $agency } } },
                        section: { numeral: { equalTo: $numeral } } }) {
          totalCount
          edges { node { id number content section { numeral } deliverables { id description } } }
        }
      }`,
    variables: { agency: DISTRICT, numeral: 'I' },
  });
  const nodes = data.tasks.edges.map((e) => e.node);
  assert.ok(nodes.length > 0, 'Tây Sơn leads tasks in section I');
  assert.equal(data.tasks.totalCount, nodes.length);
  assert.ok(nodes.every((t) => t.section.numeral === 'I'), 'only section I');
  const task = nodes.find((t) => t.number === 1) ?? nodes[0];
  assert.ok(task.deliverables.length > 0, `task I.${task.number} has deliverables`);
  state.taskId = task.id;
  state.deliverableId = task.deliverables[0].id;
  state.taskNumber = task.number;
  assert.equal(JSON.parse(log[0].body).variables.agency, DISTRICT, 'variables sent in the body');
});

// ------------------------------------------------------------ graphql-request: more

await check('graphql-request: a query with variables', async () => {
  const client = new GraphQLClient(URL_HTTP, { headers: bearer(need('editorToken', 'login')) });
  const data = await client.request(
    `query Agency($code: String!) { agency(code: $code) { code name kind ledTasks { number } } }`,
    { code: DISTRICT },
  );
  assert.equal(data.agency.code, DISTRICT);
  assert.equal(data.agency.kind, 'DISTRICT');
  assert.match(data.agency.name, /Tây Sơn/);
  assert.ok(data.agency.ledTasks.length > 0, 'Tây Sơn leads some tasks');
});

/** The ClientError graphql-request throws for `document`, with its errors checked. */
async function clientError(client, document, what) {
  try {
    await client.request(document);
  } catch (error) {
    assert.ok(error instanceof ClientError, `${what}: a ClientError, not ${error}`);
    assertErrorShape(error.response.errors, what);
    return error;
  }
  assert.fail(`${what}: the request succeeded`);
}

/** Answers to documents that never ran, for the check of their `data` entry. */
const neverRan = [];

await check('graphql-request: a validation error carries extensions.code GRAPHQL_VALIDATION_FAILED', async () => {
  const log = [];
  const client = new GraphQLClient(URL_HTTP, {
    headers: bearer(need('editorToken', 'login')),
    fetch: recordingFetch(log),
  });
  const error = await clientError(client, `{ plan(code: "768/QĐ-UBND") { noSuchField } }`, 'validation');
  neverRan.push({ what: 'validation', ...log[0] });
  assert.equal(error.response.errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
  assert.match(error.response.errors[0].message, /noSuchField/);
  // A document that never ran answers 400 under application/graphql-response+json.
  assert.equal(error.response.status, 400);
});

await check('graphql-request: a parse error carries extensions.code GRAPHQL_PARSE_FAILED', async () => {
  const log = [];
  const client = new GraphQLClient(URL_HTTP, {
    headers: bearer(need('editorToken', 'login')),
    fetch: recordingFetch(log),
  });
  const error = await clientError(client, `{ plan(code: `, 'parse');
  neverRan.push({ what: 'parse', ...log[0] });
  assert.equal(error.response.errors[0].extensions.code, 'GRAPHQL_PARSE_FAILED');
  assert.equal(error.response.status, 400);
});

await check('a document that does not parse or validate (400) is answered without a data entry', async () => {
  // The GraphQL spec ("Response"): an error raised before execution begins leaves the
  // data entry out. GraphQL over HTTP: `"data": null` goes with a 2xx status, and a 4xx
  // with no data entry, under application/graphql-response+json.
  assert.equal(neverRan.length, 2, 'the parse and the validation answers were recorded');
  const wrong = neverRan
    .filter((r) => r.status === 400 && 'data' in JSON.parse(r.responseText))
    .map((r) => `${r.what}: ${r.status} ${r.responseText}`);
  assert.deepEqual(wrong, [], 'answers with status 400 and a data entry');
});

await check('graphql-request: no token on a query that needs one answers UNAUTHENTICATED', async () => {
  const client = new GraphQLClient(URL_HTTP);
  const error = await clientError(client, PLAN_QUERY, 'no token');
  assert.equal(error.response.errors[0].extensions.code, 'UNAUTHENTICATED');
});

await check('graphql-request: a wrong password answers UNAUTHENTICATED', async () => {
  const client = new GraphQLClient(URL_HTTP);
  try {
    await client.request(LOGIN, { username: env('PT_EDITOR'), password: 'not the password' });
    assert.fail('signed in with a wrong password');
  } catch (error) {
    assert.ok(error instanceof ClientError, String(error));
    assertErrorShape(error.response.errors, 'wrong password');
    assert.equal(error.response.errors[0].extensions.code, 'UNAUTHENTICATED');
  }
});

// ------------------------------------------------------------------ persisted queries

const PERSISTED_QUERY = `
  query Districts($first: Int) {
    agencies(first: $first, filter: { kind: { equalTo: DISTRICT } }) {
      totalCount
      edges { node { code name } }
    }
  }`;

function assertDistricts(data, who) {
  assert.ok(data.agencies.totalCount >= 11, `${who}: the province's districts`);
  assert.equal(data.agencies.edges.length, 3, `${who}: first: 3`);
}

await check('Apollo persisted queries (defaults): hash only → PersistedQueryNotFound → hash + query', async () => {
  const log = [];
  const link = new PersistedQueryLink({ sha256 });
  const client = apollo(need('analystToken', 'login'), log, link);
  const { data } = await client.query({ query: apolloGql(PERSISTED_QUERY), variables: { first: 3 } });
  assertDistricts(data, 'APQ');
  assert.equal(log.length, 2, `two requests (got ${log.length})`);
  const [first, second] = log.map((r) => JSON.parse(r.body));
  assert.deepEqual(log.map((r) => r.method), ['POST', 'POST'], 'over POST by default');
  assert.equal(first.query, undefined, 'the first request sends no document');
  assert.equal(first.extensions.persistedQuery.version, 1);
  assert.match(first.extensions.persistedQuery.sha256Hash, /^[0-9a-f]{64}$/);
  const answer = JSON.parse(log[0].responseText);
  assertErrorShape(answer.errors, 'PersistedQueryNotFound');
  assert.equal(answer.errors[0].message, 'PersistedQueryNotFound');
  assert.equal(answer.errors[0].extensions.code, 'PERSISTED_QUERY_NOT_FOUND');
  assert.equal(typeof second.query, 'string', 'the retry sends the document');
  assert.equal(second.extensions.persistedQuery.sha256Hash, first.extensions.persistedQuery.sha256Hash);
  assert.equal(sha256(second.query), first.extensions.persistedQuery.sha256Hash, 'the hash is the document’s');
  state.persistedHash = first.extensions.persistedQuery.sha256Hash;
});

await check('Apollo persisted queries: a new client runs the same query by hash alone', async () => {
  const log = [];
  const client = apollo(need('editorToken', 'login'), log, new PersistedQueryLink({ sha256 }));
  const { data } = await client.query({ query: apolloGql(PERSISTED_QUERY), variables: { first: 3 } });
  assertDistricts(data, 'APQ by hash');
  assert.equal(log.length, 1, `one request (got ${log.length})`);
  const body = JSON.parse(log[0].body);
  assert.equal(body.query, undefined, 'no document sent');
  assert.equal(body.extensions.persistedQuery.sha256Hash, need('persistedHash', 'APQ'));
});

await check('Apollo persisted queries with useGETForHashedQueries: by hash alone over GET', async () => {
  const log = [];
  const link = new PersistedQueryLink({ sha256, useGETForHashedQueries: true });
  const client = apollo(need('editorToken', 'login'), log, link);
  const { data } = await client.query({ query: apolloGql(PERSISTED_QUERY), variables: { first: 3 } });
  assertDistricts(data, 'APQ over GET');
  assert.deepEqual(log.map((r) => r.method), ['GET'], 'one GET');
  const sent = new URL(log[0].url);
  assert.equal(sent.searchParams.get('query'), null, 'no document in the URL');
  assert.match(sent.searchParams.get('extensions'), /persistedQuery/);
});

// ------------------------------------------------------------------------- graphql-ws

const EVENTS = `subscription Events($plan: String) {
  submissionEvents(planCode: $plan) {
    kind at
    submission { id version status agency { code } task { number } createdAt updatedAt }
  }
}`;

/**
 * A graphql-ws client (defaults, `ws` as the WebSocket) subscribed to `EVENTS`; its
 * events, errors and close events are collected for the checks to wait on.
 */
function subscriber(connectionParams) {
  const seen = { events: [], errors: [], closed: [], connected: false, completed: false };
  const client = createWsClient({
    url: URL_WS,
    webSocketImpl: WebSocket,
    ...(connectionParams === undefined ? {} : { connectionParams }),
    on: {
      connected: () => (seen.connected = true),
      closed: (event) => seen.closed.push({ code: event.code, reason: String(event.reason) }),
    },
  });
  const dispose = client.subscribe(
    { query: EVENTS, variables: { plan: PLAN } },
    {
      next: (message) => seen.events.push(message),
      error: (error) => seen.errors.push(error),
      complete: () => (seen.completed = true),
    },
  );
  return {
    seen,
    async close() {
      dispose();
      // Disposing a client that is between retries rejects with the last close event.
      await Promise.resolve(client.dispose()).catch(() => {});
    },
  };
}

await check('graphql-ws: submission events reach the district editor and the coordinator', async () => {
  const editor = subscriber(bearer(need('editorToken', 'login')));
  const coordinator = subscriber(bearer(need('coordinatorToken', 'login')));
  try {
    await waitFor(() => editor.seen.connected && coordinator.seen.connected, 5000, 'connection_ack');
    // The subscribe message follows the ack; give the server a moment to start the stream.
    await sleep(500);

    const http = new GraphQLClient(URL_HTTP, { headers: bearer(need('editorToken', 'login')) });
    const { saveSubmission: saved } = await http.request(
      `mutation Save($input: SaveSubmissionInput!) {
        saveSubmission(input: $input) { id version status createdAt updatedAt }
      }`,
      {
        input: {
          taskId: need('taskId', 'Apollo variables'),
          periodCode: PERIOD,
          progress: 'IN_PROGRESS',
          summary: 'Đã tổ chức 3 hội nghị quán triệt',
          difficulties: 'Kinh phí hạn chế',
          deliverables: [
            {
              deliverableId: need('deliverableId', 'Apollo variables'),
              status: 'COMPLETED',
              documentRef: 'Kế hoạch số 123/KH-UBND ngày 01/4/2025',
            },
          ],
        },
      },
    );
    assert.equal(saved.status, 'DRAFT');
    assertDateTime(saved.createdAt, 'saveSubmission.createdAt');
    assertDateTime(saved.updatedAt, 'saveSubmission.updatedAt');

    const created = () => editor.seen.events.find((e) => e.data?.submissionEvents?.submission.id === saved.id);
    await waitFor(created, 10000, 'the CREATED event at the editor');
    const event = created().data.submissionEvents;
    assert.equal(event.kind, 'CREATED');
    assertDateTime(event.at, 'submissionEvents.at');
    assert.equal(event.submission.status, 'DRAFT');
    assert.equal(event.submission.agency.code, DISTRICT);
    assert.equal(event.submission.task.number, state.taskNumber);
    assert.equal(event.submission.createdAt, saved.createdAt, 'the same instant over HTTP and WebSocket');

    const { submitSubmission: submitted } = await http.request(
      `mutation Submit($id: ID!, $version: Int!) {
        submitSubmission(id: $id, expectedVersion: $version) { status version onTime submittedAt }
      }`,
      { id: saved.id, version: saved.version },
    );
    assert.equal(submitted.status, 'SUBMITTED');
    assert.equal(submitted.onTime, true);
    assertDateTime(submitted.submittedAt, 'submitSubmission.submittedAt');

    const submittedAt = (who) => () =>
      who.seen.events.find((e) => e.data?.submissionEvents?.kind === 'SUBMITTED');
    await waitFor(submittedAt(coordinator), 10000, 'the SUBMITTED event at the coordinator');
    await waitFor(submittedAt(editor), 10000, 'the SUBMITTED event at the editor');
    const seenByCoordinator = submittedAt(coordinator)().data.submissionEvents;
    assert.equal(seenByCoordinator.submission.id, saved.id);
    assert.equal(seenByCoordinator.submission.version, submitted.version);
    assertDateTime(seenByCoordinator.at, 'submissionEvents.at');
    // The draft never left its agency.
    assert.ok(
      !coordinator.seen.events.some((e) => e.data?.submissionEvents?.kind === 'CREATED'),
      'the coordinator saw no draft event',
    );
    for (const who of [editor, coordinator]) {
      assert.deepEqual(who.seen.errors, [], 'no subscription errors');
      for (const e of who.seen.events) assert.equal(e.errors, undefined, JSON.stringify(e.errors));
    }
  } finally {
    await editor.close();
    await coordinator.close();
  }
});

/** Subscribes with `connectionParams` and returns the first close event's code. */
async function firstCloseCode(connectionParams, what) {
  const client = subscriber(connectionParams);
  try {
    await waitFor(() => client.seen.closed.length > 0, 5000, `the server to close ${what}`);
    assert.equal(client.seen.connected, false, `${what}: never acknowledged`);
    assert.deepEqual(client.seen.events, [], `${what}: no events`);
    return client.seen.closed[0];
  } finally {
    // graphql-ws retries after 4403 by default ("might grant access after retry"):
    // the first close is the server's answer; stop the retries here.
    await client.close();
  }
}

await check('graphql-ws: a bad token is closed with 4403 Forbidden', async () => {
  const closed = await firstCloseCode(bearer('not-a-token'), 'a bad token');
  assert.equal(closed.code, 4403, `close code ${closed.code} (${closed.reason})`);
});

await check('graphql-ws: connection_init without a payload is closed with 4403 Forbidden', async () => {
  const closed = await firstCloseCode(undefined, 'no payload');
  assert.equal(closed.code, 4403, `close code ${closed.code} (${closed.reason})`);
});

await check('every GraphQL error above has locations from line 1, column 1, or none', async () => {
  assertLocations();
});

finish('clients.mjs');
