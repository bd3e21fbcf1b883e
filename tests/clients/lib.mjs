// Shared by the client checks: a tally of named checks, a fetch that records what the
// clients send (method, URL, body) and hands everything else to Node's own fetch, and
// the assertions on plantrack's scalars and error shape.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';

const results = [];

/** Runs one named check; a failure is counted and printed, and the run goes on. */
export async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false, error });
    console.log(`FAIL  ${name}`);
    for (const line of describe(error).split('\n')) console.log(`      ${line}`);
  }
}

function describe(error) {
  if (error instanceof assert.AssertionError) return error.message;
  if (error && error.response && error.response.errors) {
    // graphql-request's ClientError: the server's errors say more than its message.
    return `${error.name}: ${JSON.stringify(error.response.errors)}`;
  }
  if (error instanceof Error) return error.stack || String(error);
  if (error && typeof error === 'object' && 'code' in error && 'reason' in error) {
    return `a close event: ${error.code} ${error.reason}`;
  }
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

/** Prints the closing tally ("N passed, N failed") and exits non-zero on any failure. */
export function finish(label) {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  if (failed) {
    console.log(`\n${label}: these checks failed:`);
    for (const r of results.filter((r) => !r.ok)) console.log(`  - ${r.name}`);
  }
  if (process.env.CHECKS_OUT) {
    writeFileSync(process.env.CHECKS_OUT, JSON.stringify({ passed, failed }));
  }
  console.log(`${label}: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

/**
 * A fetch to hand to a client in place of the global one: it records each request's
 * method, URL, body and answer status in `log`, and changes nothing about the request.
 */
export function recordingFetch(log) {
  return async (input, init = {}) => {
    const request = input instanceof Request ? input : undefined;
    const url = request ? request.url : String(input);
    const method = (init.method || (request && request.method) || 'GET').toUpperCase();
    const body = typeof init.body === 'string' ? init.body : undefined;
    const headers = new Headers(init.headers || (request && request.headers) || {});
    const response = await fetch(input, init);
    const responseText = await response.clone().text();
    log.push({
      method,
      url,
      body,
      accept: headers.get('accept'),
      status: response.status,
      contentType: response.headers.get('content-type'),
      responseText,
    });
    return response;
  };
}

export const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A `DateTime`: UTC, millisecond precision, and JavaScript's Date gives it back unchanged. */
export function assertDateTime(value, what) {
  assert.equal(typeof value, 'string', `${what} is a string`);
  assert.match(value, DATE_TIME, `${what} = ${value} is …T…:..:..\\.ddd Z`);
  const parsed = new Date(value);
  assert.ok(!Number.isNaN(parsed.getTime()), `${what} = ${value} parses with Date`);
  assert.equal(parsed.toISOString(), value, `${what} round-trips through Date`);
}

/** A `Date`: YYYY-MM-DD, a real calendar day. */
export function assertDate(value, what) {
  assert.equal(typeof value, 'string', `${what} is a string`);
  assert.match(value, DATE, `${what} = ${value} is YYYY-MM-DD`);
  const parsed = new Date(`${value}T00:00:00.000Z`);
  assert.ok(!Number.isNaN(parsed.getTime()), `${what} = ${value} parses with Date`);
  assert.equal(parsed.toISOString().slice(0, 10), value, `${what} is a real day`);
}

/** Every GraphQL error that `assertErrorShape` saw, for `assertLocations`. */
const errorsSeen = [];

/**
 * GraphQL errors as plantrack promises them: a non-empty list, each with a message and
 * `extensions.code`. They are kept for `assertLocations`.
 */
export function assertErrorShape(errors, what) {
  assert.ok(Array.isArray(errors) && errors.length > 0, `${what}: a non-empty errors list`);
  for (const error of errors) {
    errorsSeen.push({ what, error });
    assert.equal(typeof error.message, 'string', `${what}: each error has a message`);
    assert.equal(
      typeof error.extensions?.code,
      'string',
      `${what}: each error has extensions.code (${JSON.stringify(error)})`,
    );
  }
}

/**
 * The GraphQL spec ("Errors"): `locations`, where present, are points in the document,
 * with `line` and `column` counting from 1. An error about no place has none.
 */
export function assertLocations() {
  assert.ok(errorsSeen.length > 0, 'errors were seen');
  const wrong = errorsSeen
    .filter(({ error }) =>
      (error.locations ?? []).some(
        (l) => !(Number.isInteger(l.line) && l.line >= 1 && Number.isInteger(l.column) && l.column >= 1),
      ),
    )
    .map(({ what, error }) => `${what}: ${JSON.stringify(error)}`);
  assert.deepEqual(wrong, [], 'errors whose locations are not in the document (line or column 0)');
}

/** Resolves when `predicate()` holds, polling; rejects after `ms`. */
export async function waitFor(predicate, ms, what) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run this through run.sh)`);
  return value;
}
