// GraphiQL in headless Chromium, offline: run by run.sh against a running plantrack.
//
//   node browser.mjs http://127.0.0.1:PORT
//
// Credentials come from the environment: PT_USER / PT_PASSWORD (an EDITOR of
// ubnd-tay-son, who signs in through the page) and PT_COORDINATOR /
// PT_COORDINATOR_PASSWORD (of so-ldtbxh, who opens the reporting window over HTTP so
// that the editor's save can raise an event).
//
// Every request off 127.0.0.1 is aborted and recorded; any such request fails the test,
// as does an uncaught page error or a Content-Security-Policy violation.
// Screenshots go to tests/browser/artifacts/.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts');
const BASE = (process.argv[2] || process.env.PT_URL || '').replace(/\/+$/, '');
const USER = process.env.PT_USER;
const PASSWORD = process.env.PT_PASSWORD;
const COORDINATOR = process.env.PT_COORDINATOR;
const COORDINATOR_PASSWORD = process.env.PT_COORDINATOR_PASSWORD;
const PLAN = '768/QĐ-UBND';
const PERIOD = '2025';
const STEP_MS = 30_000;

if (!BASE || !USER || !PASSWORD || !COORDINATOR || !COORDINATOR_PASSWORD) {
  console.error('usage: PT_USER=… PT_PASSWORD=… PT_COORDINATOR=… PT_COORDINATOR_PASSWORD=… node browser.mjs http://127.0.0.1:PORT');
  process.exit(2);
}

const checked = [];
function pass(what) {
  checked.push(what);
  console.log(`ok ${checked.length} - ${what}`);
}
class Failure extends Error {}
function fail(message) { throw new Failure(message); }

function isLoopback(url) {
  let u;
  try { u = new URL(url); } catch { return false; }
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return true;
  return u.hostname === '127.0.0.1';
}

// GraphQL over HTTP from the test itself (not the page).
async function gql(query, variables = {}, token) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${BASE}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const answer = await response.json();
  if (answer.errors) fail(`GraphQL over HTTP failed: ${JSON.stringify(answer.errors)}\n  query: ${query}`);
  return answer.data;
}
async function login(username, password) {
  const data = await gql('mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: username, p: password });
  return data.login.token;
}

// Signs in through the page's form.
async function signIn() {
  await page.getByLabel('Username').fill(USER);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${USER}`).waitFor({ timeout: STEP_MS }).catch(async () => {
    const error = await page.locator('#sign-in-error').innerText().catch(() => '');
    fail(`sign-in did not complete${error ? `: the form says "${error}"` : ''}`);
  });
}

// Puts a subscription in GraphiQL's editor and runs it; resolves once GraphiQL shows it
// running ("Stop query").
async function startSubscription(text) {
  const run = page.locator('.graphiql-execute-button');
  await run.waitFor({ state: 'visible', timeout: STEP_MS }).catch(() => fail('GraphiQL did not render (no run button)'));
  await page.evaluate((t) => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(t), text);
  // GraphiQL parses the editor 100 ms after a change (debounced): run once it has, as a
  // person typing would, or it would send the subscription over HTTP.
  await page.waitForFunction(() => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
    return !!(cm.documentAST && cm.documentAST.definitions.some((d) => d.operation === 'subscription'));
  }, null, { timeout: STEP_MS });
  await run.click();
  await page.getByRole('button', { name: /^Stop query/ }).waitFor({ timeout: STEP_MS })
    .catch(() => fail('GraphiQL did not show the subscription as running (no "Stop query" button)'));
}

// The text of a GraphiQL CodeMirror 5 editor (the whole document, not only what is drawn).
async function editorText(page, selector) {
  return page.evaluate((sel) => {
    const el = document.querySelector(`${sel} .CodeMirror`);
    return el && el.CodeMirror ? el.CodeMirror.getValue() : null;
  }, selector);
}
async function waitForEditorText(page, selector, test, what) {
  const end = Date.now() + STEP_MS;
  let text = null;
  while (Date.now() < end) {
    text = await editorText(page, selector);
    if (text !== null && test(text)) return text;
    await page.waitForTimeout(100);
  }
  fail(`timed out waiting for ${what}; the pane shows:\n${text === null ? '(no editor)' : text.slice(0, 2000)}`);
}

const blocked = [];
const requested = new Set();
const pageErrors = [];
const cspViolations = [];
const sockets = [];

fs.mkdirSync(ARTIFACTS, { recursive: true });
for (const old of fs.readdirSync(ARTIFACTS)) if (old.endsWith('.png')) fs.rmSync(path.join(ARTIFACTS, old));
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let page;
let exitCode = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Nothing but loopback: whatever else the page asks for is refused and recorded.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requested.add(url.length > 120 ? `${url.slice(0, 120)}…` : url);
    if (isLoopback(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    const text = message.text();
    if (/Content[- ]Security[- ]Policy/i.test(text)) cspViolations.push(text);
    if (message.type() === 'error') console.log(`  (console error) ${text}`);
  });
  page.on('websocket', (ws) => {
    const socket = { url: ws.url(), sent: [], received: [], closed: false };
    sockets.push(socket);
    if (!isLoopback(ws.url())) blocked.push(ws.url());
    ws.on('framesent', (frame) => socket.sent.push(String(frame.payload)));
    ws.on('framereceived', (frame) => socket.received.push(String(frame.payload)));
    ws.on('close', () => { socket.closed = true; });
  });

  // 1. The page, as a browser asks for it (Chromium sends Accept: text/html,…).
  const response = await page.goto(`${BASE}/graphql`, { waitUntil: 'load', timeout: STEP_MS });
  const accept = response.request().headers().accept || '';
  if (!accept.includes('text/html')) fail(`the navigation did not send Accept: text/html (sent "${accept}")`);
  if (response.status() !== 200) fail(`GET /graphql answered ${response.status()}`);
  const type = response.headers()['content-type'] || '';
  if (!/^text\/html/i.test(type) || !/charset=utf-8/i.test(type)) fail(`GET /graphql has content type "${type}", not text/html; charset=utf-8`);
  pass(`GET /graphql with Accept: text/html answers 200 ${type}`);

  // 2. Sign in through the form.
  const username = page.getByLabel('Username');
  await username.waitFor({ state: 'visible', timeout: STEP_MS }).catch(async () => {
    fail(`no sign-in form; the page shows: ${(await page.locator('body').innerText()).slice(0, 500)}`);
  });
  pass('the sign-in form is shown when no token is held');
  await username.fill(USER);
  await page.getByLabel('Password').fill(`${PASSWORD}-wrong`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#sign-in-error', { hasText: 'wrong username or password' }).waitFor({ timeout: STEP_MS })
    .catch(() => fail('a wrong password did not show "wrong username or password" in the form'));
  if (await page.getByText(`Signed in as ${USER}`).isVisible()) fail('a wrong password signed in');
  pass('a wrong password answers "wrong username or password" in the form');
  await signIn();
  const held = await page.evaluate(() => JSON.parse(sessionStorage.getItem('plantrack.graphiql.session') || 'null'));
  if (!held || !held.token) fail('no token in sessionStorage after sign-in');
  if (await page.evaluate(() => JSON.stringify(localStorage).includes('Bearer'))) fail('a token was written to localStorage');
  pass(`signed in through the form as ${USER}; the token is in sessionStorage only, and the header says "${await page.locator('#who').innerText()}"`);

  // 3. GraphiQL with the default query.
  const run = page.locator('.graphiql-execute-button');
  await run.waitFor({ state: 'visible', timeout: STEP_MS }).catch(() => fail('GraphiQL did not render (no run button)'));
  const query = await waitForEditorText(page, '.graphiql-query-editor', (t) => t.includes(`plan(code: "${PLAN}")`), 'the default plan query in the editor');
  await page.screenshot({ path: path.join(ARTIFACTS, '1-after-sign-in.png') });
  pass(`GraphiQL rendered with the default query (${query.split('\n').length} lines, plan(code: "${PLAN}"))`);

  // 4. Run the plan query; the result pane shows the plan.
  await run.click();
  const result = await waitForEditorText(page, '.graphiql-response', (t) => t.includes(`"code": "${PLAN}"`) || t.includes('"errors"'), `the plan's code ${PLAN} in the result pane`);
  const parsed = JSON.parse(result);
  if (parsed.errors) fail(`the plan query answered errors: ${JSON.stringify(parsed.errors)}`);
  const plan = parsed.data.plan;
  const tasks = plan.sections.reduce((n, s) => n + s.tasks.length, 0);
  const shown = await page.locator('.graphiql-response').innerText();
  if (!shown.includes(PLAN)) fail(`the result pane does not display "${PLAN}" (Vietnamese text)`);
  if (!/Bình Định/.test(shown)) fail('the result pane does not display "Bình Định" from the plan title');
  await page.screenshot({ path: path.join(ARTIFACTS, '2-after-query.png') });
  pass(`the plan query ran over HTTP: ${plan.code}, ${plan.sections.length} sections, ${tasks} tasks, shown with its diacritics ("Bình Định")`);
  const local = await page.evaluate(() => Object.keys(localStorage));
  if (local.length) fail(`GraphiQL wrote to localStorage (it should use sessionStorage): ${local.join(', ')}`);
  const session = await page.evaluate(() => Object.keys(sessionStorage));
  if (!session.some((k) => k.startsWith('graphiql:'))) fail(`GraphiQL's state is not in sessionStorage: ${session.join(', ')}`);
  pass('GraphiQL keeps its tabs and results in sessionStorage, nothing in localStorage');

  // A reload keeps the sign-in of this tab (the page checks the kept token with `me`).
  await page.reload({ waitUntil: 'load' });
  await page.getByText(`Signed in as ${USER}`).waitFor({ timeout: STEP_MS }).catch(() => fail('a reload lost the sign-in'));
  await run.waitFor({ state: 'visible', timeout: STEP_MS }).catch(() => fail('GraphiQL did not render after a reload'));
  if (await page.getByLabel('Username').isVisible()) fail('the sign-in form is shown after a reload');
  pass('a reload keeps the sign-in and GraphiQL, without the form');

  // 5. A subscription over /graphql/ws, and an event raised by a save.
  const coordinatorToken = await login(COORDINATOR, COORDINATOR_PASSWORD);
  const day = 86_400_000;
  const { reportingWindows: windows } = await gql(`query($plan: String!, $period: String!) {
    reportingWindows(filter: { plan: { code: { equalTo: $plan } }, period: { code: { equalTo: $period } } }) { isOpen } }`,
  { plan: PLAN, period: PERIOD }, coordinatorToken);
  if (!windows.length) {
    await gql(`mutation($input: OpenReportingWindowInput!) { openReportingWindow(input: $input) { isOpen } }`, {
      input: { planCode: PLAN, periodCode: PERIOD, opensAt: `${PERIOD}-01-01T00:00:00Z`,
        dueAt: new Date(Date.now() + 30 * day).toISOString(), closesAt: new Date(Date.now() + 60 * day).toISOString() },
    }, coordinatorToken);
  } else if (!windows[0].isOpen) {
    fail(`the ${PERIOD} reporting window of this database is closed: run on a fresh database`);
  }
  const subscription = `subscription Events {\n  submissionEvents(planCode: "${PLAN}") {\n    kind at\n    submission { id status summary agency { code } task { number } }\n  }\n}\n`;
  await startSubscription(subscription);
  const wsUrl = `${BASE.replace(/^http/, 'ws')}/graphql/ws`;
  const end = Date.now() + STEP_MS;
  let socket;
  while (Date.now() < end) {
    socket = sockets.find((s) => s.url === wsUrl && s.received.some((f) => f.includes('"connection_ack"'))
      && s.sent.some((f) => f.includes('"subscribe"')));
    if (socket) break;
    await page.waitForTimeout(100);
  }
  if (!socket) fail(`no acknowledged subscription on ${wsUrl}; sockets: ${JSON.stringify(sockets)}`);
  const init = socket.sent.find((f) => f.includes('"connection_init"'));
  if (!init || !init.includes(`"Authorization":"Bearer ${held.token}"`)) fail(`connection_init did not carry the token: ${init}`);
  pass(`the subscription runs over ${wsUrl}: connection_init with the bearer token, connection_ack, subscribe`);

  // The same user saves a draft over HTTP: a CREATED event for their own agency.
  const userToken = await login(USER, PASSWORD);
  const { tasks: found } = await gql(`{ tasks(first: 1, filter: { leadAgencies: { some: { code: { equalTo: "ubnd-tay-son" } } },
    section: { numeral: { equalTo: "I" } } }) { edges { node { id number } } } }`, {}, userToken);
  if (!found.edges.length) fail('no section I task led by ubnd-tay-son to save a report on');
  const taskId = found.edges[0].node.id;
  // On a fresh database this creates the draft; on a used one it updates it.
  const { submissions: earlier } = await gql(`query($task: ID!, $period: String!) {
    submissions(filter: { task: { id: { equalTo: $task } }, period: { code: { equalTo: $period } } }) {
      edges { node { version } } } }`, { task: taskId, period: PERIOD }, userToken);
  const expectedVersion = earlier.edges.length ? earlier.edges[0].node.version : undefined;
  const summary = `Kiểm thử GraphiQL: đã tổ chức hội nghị quán triệt (${new Date().toISOString()})`;
  const { saveSubmission } = await gql(`mutation($input: SaveSubmissionInput!) { saveSubmission(input: $input) { id status } }`, {
    input: { taskId, periodCode: PERIOD, progress: 'IN_PROGRESS', summary, expectedVersion },
  }, userToken);
  const event = await waitForEditorText(page, '.graphiql-response', (t) => t.includes('"submissionEvents"'), 'the submission event in the result pane');
  const eventData = JSON.parse(event);
  if (eventData.errors) fail(`the subscription answered errors: ${JSON.stringify(eventData.errors)}`);
  const got = eventData.data.submissionEvents;
  if (got.kind !== (expectedVersion === undefined ? 'CREATED' : 'UPDATED') || got.submission.id !== saveSubmission.id || got.submission.summary !== summary) {
    fail(`unexpected event: ${JSON.stringify(got)}`);
  }
  if (!socket.received.some((f) => f.includes('"next"') && f.includes(saveSubmission.id))) fail('the event did not arrive as a "next" frame');
  await page.screenshot({ path: path.join(ARTIFACTS, '3-after-subscription-event.png') });
  pass(`a save over HTTP reached GraphiQL as a live event: ${got.kind} ${got.submission.status} of task I.${got.submission.task.number} ("${got.submission.summary}")`);
  await page.getByRole('button', { name: /^Stop query/ }).click();
  await page.getByRole('button', { name: /^Execute query/ }).waitFor({ timeout: STEP_MS });
  pass('the subscription stops from GraphiQL');

  // 6. Sign out: the form again, the token gone from the tab and refused by the server.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Username').waitFor({ state: 'visible', timeout: STEP_MS });
  const left = await page.evaluate(() => Object.keys(sessionStorage).concat(Object.keys(localStorage)));
  if (left.length) fail(`sign-out left storage behind: ${left.join(', ')}`);
  const deadline = Date.now() + STEP_MS;
  let refused = false;
  while (!refused && Date.now() < deadline) {
    const response = await fetch(`${BASE}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${held.token}` }, body: JSON.stringify({ query: '{ me { user { username } } }' }) });
    const answer = await response.json();
    refused = !!(answer.errors && answer.errors.some((e) => e.extensions && e.extensions.code === 'UNAUTHENTICATED'));
    if (!refused) await page.waitForTimeout(100);
  }
  if (!refused) fail('the signed-out token still works: the page did not call logout');
  await page.screenshot({ path: path.join(ARTIFACTS, '4-after-sign-out.png') });
  pass('"Sign out" called logout (the token is refused now), cleared the token and GraphiQL\'s state from storage, and shows the form again');

  // 7. A sign-in that ends on the server (here: logout from elsewhere) while a
  // subscription runs: the server closes the socket with 4403 within 5 s, and the page
  // goes back to the form and says so.
  await signIn();
  const again = await page.evaluate(() => JSON.parse(sessionStorage.getItem('plantrack.graphiql.session')).token);
  const socketsBefore = sockets.length;
  await startSubscription(subscription);
  await gql('mutation { logout }', {}, again);
  await page.locator('#sign-in-error', { hasText: 'Your sign-in has ended' }).waitFor({ timeout: STEP_MS })
    .catch(() => fail('a sign-in ended on the server did not bring back the form with "Your sign-in has ended"'));
  if (await page.evaluate(() => sessionStorage.getItem('plantrack.graphiql.session'))) fail('an ended sign-in left its token in sessionStorage');
  await page.screenshot({ path: path.join(ARTIFACTS, '5-after-sign-in-ended.png') });
  const revoked = sockets.slice(socketsBefore).find((s) => s.closed);
  if (!revoked) fail('the subscription socket was not closed after the sign-in ended');
  pass('a sign-in ended on the server while subscribed (4403 close) brings back the form with "Your sign-in has ended"');

  // 8. Nothing left loopback, nothing broke.
  if (pageErrors.length) fail(`uncaught errors in the page:\n  ${pageErrors.join('\n  ')}`);
  if (cspViolations.length) fail(`Content-Security-Policy violations:\n  ${cspViolations.join('\n  ')}`);
  if (blocked.length) fail(`the page asked for addresses off loopback (blocked):\n  ${[...new Set(blocked)].join('\n  ')}`);
  pass(`all ${requested.size} distinct URLs and ${sockets.length} WebSocket(s) went to 127.0.0.1; no page errors, no CSP violations`);
} catch (error) {
  exitCode = 1;
  console.error(`\nFAILED: ${error instanceof Failure ? error.message : error.stack || error}`);
  if (blocked.length) console.error(`requests off loopback (blocked):\n  ${[...new Set(blocked)].join('\n  ')}`);
  if (pageErrors.length) console.error(`page errors:\n  ${pageErrors.join('\n  ')}`);
  if (cspViolations.length) console.error(`Content-Security-Policy violations:\n  ${cspViolations.join('\n  ')}`);
  if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png') }).catch(() => {});
  console.error(`screenshots in ${ARTIFACTS}`);
} finally {
  await browser.close();
}
console.log(`\nbrowser: ${checked.length} passed, ${exitCode} failed`);
process.exit(exitCode);
