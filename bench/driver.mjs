// Load driver of the plantrack vs PostGraphile benchmark (bench/BENCHMARKS.md). No
// dependencies: node:http with keep-alive, psql for pg_stat_statements, /proc for CPU/RSS.
//   node bench/driver.mjs CONFIG.json load      A/B interleaved load, results in CONFIG.out
//   node bench/driver.mjs CONFIG.json verify    one request per scenario and target, rows compared
//   node bench/driver.mjs CONFIG.json explain   one request per scenario, user and target,
//                                               with markers in the PostgreSQL log (auto_explain)
// CONFIG (written by bench/run.sh): targets, users, database and process ids; see run.sh.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const [configPath, mode = 'load'] = process.argv.slice(2);
const cfg = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const OUT = cfg.out;
fs.mkdirSync(OUT, { recursive: true });
const env = (name, dflt) => process.env[name] ?? dflt;
const DURATION = Number(env('DURATION', 10));
const ROUNDS = Number(env('ROUNDS', 4));
const WARMUP = Number(env('WARMUP', 1));
const CONCURRENCY = env('CONCURRENCY', '16,64').split(',').map(Number);
const ONLY = env('SCENARIOS', '') ? env('SCENARIOS', '').split(',') : null;
const TICK = 100; // clock ticks per second (getconf CLK_TCK on Linux)

// ---------- helpers ----------
const b64 = (s) => Buffer.from(s).toString('base64url');
const gid = (type, id) => b64(`${type}:${id}`);
function psql(sql) {
  if (!cfg.pgUrl) return '';
  return execFileSync('psql', ['-X', '-qAt', '-v', 'ON_ERROR_STOP=1', cfg.pgUrl, '-c', sql], { encoding: 'utf8' }).trim();
}
function procCpu(pid) { // utime + stime in ms
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / TICK;
  } catch { return NaN; }
}
// PostgreSQL's CPU time in ms: the postmaster's own, its children's that it has reaped
// (cutime + cstime), and every live child's (the backends, which a pool keeps).
function postgresCpu() {
  const pm = cfg.postmasterPid;
  if (!pm) return NaN;
  const fields = (pid) => {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  };
  try {
    const own = fields(pm);
    let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name) || Number(name) === pm) continue;
      try {
        const f = fields(name);
        if (Number(f[1]) === pm) ticks += Number(f[11]) + Number(f[12]);
      } catch { /* exited meanwhile */ }
    }
    return (ticks * 1000) / TICK;
  } catch { return NaN; }
}
function procStatus(pid, key) { // kB
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : NaN;
  } catch { return NaN; }
}
function resetPeak(pid) { try { fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); } catch { /* not root */ } }
// Statements and their execution time (ms) since the last reset, of every role but the
// driver's own (the superuser).
const STMT_SQL = `SELECT coalesce(sum(calls), 0) || ' ' || coalesce(sum(total_exec_time), 0) FROM pg_stat_statements s
  WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND s.userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)`;

const agents = {};
function post(target, body, headers) {
  const url = new URL(cfg.targets[target].url);
  const data = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: agents[target],
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => resolve({ status: 0, text: String(e) }));
    });
    req.on('error', (e) => resolve({ status: 0, text: String(e) }));
    req.end(data);
  });
}
function authHeaders(target, user) {
  const u = cfg.users[user];
  if (target === 'plantrack') return { authorization: `Bearer ${u.token}` };
  return { 'x-agency-id': String(u.agencyId), 'x-role': u.role, 'x-plan-ids': u.planIds || '' };
}
function check(res) { // null when fine, else the error text
  if (res.status !== 200) return `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
  let j;
  try { j = JSON.parse(res.text); } catch { return `bad JSON: ${res.text.slice(0, 200)}`; }
  if (j.errors && j.errors.length) return JSON.stringify(j.errors).slice(0, 400);
  if (!j.data) return 'no data';
  return { json: j };
}

// ---------- scenarios ----------
const PLAN = cfg.planCode;
const PERIOD = cfg.periodCode;
let oldObligations = true;
const SUB_FIELDS_PT = 'id status progress createdAt task { id content } agency { id name }';
const SUB_FIELDS_PG = 'id status progress createdAt taskByTaskId { id content } agencyByAgencyId { id name }';
// plantrack's "newest first": ORDER BY id DESC in binaries whose submissions take
// `orderBy: SubmissionOrder` (before the filter language), ORDER BY created_at DESC, id
// DESC (with an index on both, m20260104) after it. PostGraphile is asked for the same.
let newestFirst = '[CREATED_AT_DESC, ID_DESC]';
const submissionsPage = (count) => ({
  plantrack: `{ submissions(first: 100) { ${count ? 'totalCount ' : ''}edges { node { ${SUB_FIELDS_PT} } } } }`,
  postgraphile: () => `{ allSubmissions(first: 100, orderBy: ${newestFirst}) { ${count ? 'totalCount ' : ''}nodes { ${SUB_FIELDS_PG} } } }`,
});
const Q = {
  tasks: {
    plantrack: '{ tasks(first: 100) { edges { node { id content } } } }',
    postgraphile: '{ allTasks(first: 100, orderBy: [PLAN_ID_ASC, POSITION_ASC]) { nodes { id content } } }',
  },
  nested: {
    plantrack: `query($plan: String!) { plan(code: $plan) { id code title sections { id numeral title tasks { id number content
      leadAgencies { id code name } deliverables { id description } } } } }`,
    postgraphile: `query($plan: String!) { planByCode(code: $plan) { id code title sectionsByPlanId(orderBy: POSITION_ASC) { nodes { id numeral title
      tasksBySectionId(orderBy: POSITION_ASC) { nodes { id number content leadAgencies { nodes { id code name } }
      deliverablesByTaskId(orderBy: POSITION_ASC) { nodes { id description } } } } } } } }`,
  },
  subs: submissionsPage(false),
  subsCount: submissionsPage(true),
  progress: {
    plantrack: `query($plan: String!) { progress(planCode: $plan, groupBy: AGENCY) { agency { id code } expected submitted accepted returned onTime notStarted inProgress completed completeness timeliness } }`,
    postgraphile: `query($plan: String!) { benchProgressByAgency(planCode: $plan) { nodes { agencyId agencyCode expected submitted accepted returned onTime notStarted inProgress completed completeness timeliness } } }`,
  },
  home: {
    plantrack: () => oldObligations
      ? `query($period: String!) { obligations(periodCode: $period) { task { id } period { code } state onTime submission { id status } }
         submissions(first: 20) { edges { node { id status progress updatedAt task { id } period { code } } } } }`
      : `query($period: String!) { obligations(first: 100, filter: { period: { code: { equalTo: $period } } }) { edges { node { task { id } period { code } state onTime submission { id status } } } }
         submissions(first: 20) { edges { node { id status progress updatedAt task { id } period { code } } } } }`,
    postgraphile: () => `query($period: String!) { benchObligations(periodCode: $period) { nodes { taskId periodCode state onTime submissionId submissionStatus } }
      allSubmissions(first: 20, orderBy: ${newestFirst}) { nodes { id status progress updatedAt taskId periodByPeriodId { code } } } }`,
  },
};
const read = (name, user, q) => ({ name, user, make: (target) => ({ query: typeof q[target] === 'function' ? q[target]() : q[target], variables: { plan: PLAN, period: PERIOD } }) });

// Writes: each request takes a free draft of the writer's agency (one client per draft at
// a time), saves it with the version last read, and returns it with the new version.
const drafts = cfg.drafts || [];
const freeDrafts = [...drafts];
const waiters = [];
const takeDraft = () => freeDrafts.length ? Promise.resolve(freeDrafts.shift()) : new Promise((r) => waiters.push(r));
const giveDraft = (d) => { const w = waiters.shift(); if (w) w(d); else freeDrafts.push(d); };
let writeSeq = 0;
function writeBody(target, d) {
  const n = ++writeSeq;
  const summary = `Đã tổ chức ${n % 9 + 1} hội nghị quán triệt; bench ${n}`;
  const difficulties = 'Kinh phí hạn chế';
  const ev = d.deliverables.map((id, i) => ({ id, status: 'IN_PROGRESS', ref: `Kế hoạch số ${n % 500 + i}/KH-UBND ngày 01/4/2025` }));
  if (target === 'plantrack') {
    return {
      query: `mutation($input: SaveSubmissionInput!) { saveSubmission(input: $input) { id version status } }`,
      variables: { input: { taskId: gid('Task', d.taskId), periodCode: d.periodCode, progress: 'IN_PROGRESS', summary, difficulties,
        deliverables: ev.map((e) => ({ deliverableId: gid('Deliverable', e.id), status: e.status, documentRef: e.ref })), expectedVersion: d.version } },
    };
  }
  return {
    query: `mutation($input: BenchSaveSubmissionInput!) { benchSaveSubmission(input: $input) { submission { id version status } } }`,
    variables: { input: { taskId: String(d.taskId), periodCode: d.periodCode, progress: 'IN_PROGRESS', summary, difficulties,
      evidence: ev.map((e) => ({ deliverableId: e.id, status: e.status, documentRef: e.ref })), expectedVersion: d.version } },
  };
}
const write = {
  name: 'f_write_saveSubmission', user: 'district', write: true,
  async run(target) {
    const d = await takeDraft();
    try {
      const res = await post(target, writeBody(target, d), authHeaders(target, 'district'));
      const ok = check(res);
      if (typeof ok !== 'string') {
        const s = target === 'plantrack' ? ok.json.data.saveSubmission : ok.json.data.benchSaveSubmission.submission;
        d.version = s.version;
      } else if (/CONFLICT/.test(ok)) {
        d.version = Number(psql(`SELECT version FROM submission WHERE id = ${d.submissionId}`)) || d.version;
      }
      return ok;
    } finally { giveDraft(d); }
  },
};

const SCENARIOS = [
  read('a_tasks_first100', 'district', Q.tasks),
  read('b_nested_plan', 'district', Q.nested),
  read('c_submissions_district', 'district', Q.subs),
  read('c_submissions_coordinator', 'coordinator', Q.subs),
  read('c_submissions_analyst', 'analyst', Q.subs),
  read('c2_count_district', 'district', Q.subsCount),
  read('c2_count_coordinator', 'coordinator', Q.subsCount),
  read('c2_count_analyst', 'analyst', Q.subsCount),
  read('d_progress_by_agency', 'analyst', Q.progress),
  read('e_district_home', 'district', Q.home),
];
if (drafts.length) SCENARIOS.push(write);
// g: 80% reads (tasks, the district's page and home, the analyst's page), 20% writes.
const mixReads = ['a_tasks_first100', 'c_submissions_district', 'e_district_home', 'c_submissions_analyst'].map((n) => SCENARIOS.find((s) => s.name === n));
let mixSeq = 0;
if (drafts.length) {
  SCENARIOS.push({
    name: 'g_mixed_80r_20w', user: 'mixed',
    run(target) {
      const i = mixSeq++;
      if (i % 5 === 4) return write.run(target);
      const s = mixReads[(i - Math.floor(i / 5)) % mixReads.length];
      return runRead(target, s);
    },
  });
}
async function runRead(target, s) {
  return check(await post(target, s.make(target), authHeaders(target, s.user)));
}
const runScenario = (target, s) => (s.run ? s.run(target) : runRead(target, s));

// ---------- ids for verification ----------
function ids(node, target, acc = []) {
  if (Array.isArray(node)) { node.forEach((n) => ids(n, target, acc)); return acc; }
  if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (target === 'plantrack' && k === 'id' && typeof v === 'string') {
        const m = Buffer.from(v, 'base64url').toString().match(/:(\d+)$/);
        acc.push(m ? Number(m[1]) : v);
      } else if (target !== 'plantrack' && (k === 'id' || /[a-z]Id$/.test(k)) && v != null && typeof v !== 'object') {
        acc.push(Number(v));
      } else ids(v, target, acc);
    }
  }
  return acc;
}

async function detectSchema() {
  const r = check(await post('plantrack', { query: '{ __type(name: "Query") { fields { name args { name type { name ofType { name } } } } } }' }, {}));
  if (typeof r === 'string') throw new Error(`introspection failed: ${r}`);
  const ob = r.json.data.__type.fields.find((f) => f.name === 'obligations');
  oldObligations = !!ob && ob.args.some((a) => a.name === 'periodCode');
  const order = r.json.data.__type.fields.find((f) => f.name === 'submissions').args.find((a) => a.name === 'orderBy');
  if (order && (order.type.name || order.type.ofType?.name) === 'SubmissionOrder') newestFirst = 'ID_DESC';
  console.log(`plantrack schema: obligations ${oldObligations ? 'list by periodCode (before the filter language)' : 'connection with filter'}; newest first = ${newestFirst}`);
}

const targets = Object.keys(cfg.targets);
for (const t of targets) agents[t] = new http.Agent({ keepAlive: true, maxSockets: Math.max(...CONCURRENCY, 1) });

// ---------- verify ----------
async function verify() {
  const lines = [];
  let bad = 0;
  for (const s of SCENARIOS.filter((x) => !x.run)) {
    const got = {};
    for (const t of targets) {
      const r = await runRead(t, s);
      if (typeof r === 'string') { bad++; lines.push(`${s.name} ${t}: ERROR ${r}`); continue; }
      got[t] = ids(r.json.data, t).sort((a, b) => a - b);
    }
    if (got.plantrack && got.postgraphile) {
      const same = JSON.stringify(got.plantrack) === JSON.stringify(got.postgraphile);
      lines.push(`${s.name}: plantrack ${got.plantrack.length} ids, postgraphile ${got.postgraphile.length} ids: ${same ? 'same rows' : 'DIFFERENT'}`);
      if (!same) {
        const a = new Set(got.plantrack), b = new Set(got.postgraphile);
        lines.push(`  only plantrack: ${[...a].filter((x) => !b.has(x)).slice(0, 20)}  only postgraphile: ${[...b].filter((x) => !a.has(x)).slice(0, 20)}`);
      }
    } else if (got.plantrack) lines.push(`${s.name}: plantrack ${got.plantrack.length} ids`);
  }
  for (const t of targets) if (drafts.length) {
    const r = await write.run(t);
    if (typeof r === 'string') { bad++; lines.push(`write ${t}: ERROR ${r}`); } else lines.push(`write ${t}: ok`);
  }
  fs.writeFileSync(path.join(OUT, 'verify.txt'), lines.join('\n') + '\n');
  console.log(lines.join('\n'));
  return bad;
}

// ---------- one measured run ----------
async function measure(target, s, conc, seconds, record = true) {
  const pid = cfg.targets[target].pid;
  if (record) { psql('SELECT pg_stat_statements_reset()'); resetPeak(pid); }
  const cpu0 = procCpu(pid);
  const pgCpu0 = postgresCpu();
  const lat = [];
  let errors = 0, firstError = null;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (performance.now() < end) {
      const a = performance.now();
      const r = await runScenario(target, s);
      lat.push(performance.now() - a);
      if (typeof r === 'string') { errors++; firstError ??= r; }
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  if (!record) return null;
  const pgCpuMs = postgresCpu() - pgCpu0; // before psql's own backend below
  const [stmts, dbMs] = cfg.pgUrl ? psql(STMT_SQL).split(' ').map(Number) : [NaN, NaN];
  return {
    requests: lat.length, elapsed, errors, firstError, lat,
    cpuMs: procCpu(pid) - cpu0, pgCpuMs, dbMs, stmts,
    peakRssKb: procStatus(pid, 'VmHWM'),
  };
}

const pct = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
function summarize(runs) {
  const lat = runs.flatMap((r) => r.lat).sort((a, b) => a - b);
  const req = runs.reduce((n, r) => n + r.requests, 0);
  const el = runs.reduce((n, r) => n + r.elapsed, 0);
  return {
    requests: req, rps: req / el, p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99),
    errors: runs.reduce((n, r) => n + r.errors, 0), firstError: runs.find((r) => r.firstError)?.firstError ?? null,
    stmtsPerReq: runs.reduce((n, r) => n + r.stmts, 0) / req,
    cpuMsPerReq: runs.reduce((n, r) => n + r.cpuMs, 0) / req,
    dbMsPerReq: runs.reduce((n, r) => n + r.dbMs, 0) / req,
    pgCpuMsPerReq: runs.reduce((n, r) => n + r.pgCpuMs, 0) / req,
    peakRssMb: Math.max(...runs.map((r) => r.peakRssKb)) / 1024,
    rpsPerRound: runs.map((r) => +(r.requests / r.elapsed).toFixed(1)),
  };
}

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
function table(results) {
  const both = targets.length > 1;
  const head = both
    ? ['scenario', 'c', 'req/s plantrack', 'req/s PostGraphile', 'ratio', 'p50/p95/p99 ms plantrack', 'p50/p95/p99 ms PostGraphile', 'errors', 'stmts/req', 'CPU ms/req server', 'DB exec ms/req', 'CPU ms/req PostgreSQL', 'peak RSS MB']
    : ['scenario', 'c', 'req/s', 'p50/p95/p99 ms', 'errors', 'stmts/req', 'CPU ms/req server', 'DB exec ms/req', 'CPU ms/req PostgreSQL', 'peak RSS MB'];
  const rows = [head, head.map(() => '---')];
  for (const r of results) {
    const a = r.plantrack, b = r.postgraphile;
    const trio = (x) => `${f(x.p50)} / ${f(x.p95)} / ${f(x.p99)}`;
    if (both) {
      rows.push([r.scenario, r.c, f(a.rps), f(b.rps), f(a.rps / b.rps, 2), trio(a), trio(b), `${a.errors} / ${b.errors}`,
        `${f(a.stmtsPerReq)} / ${f(b.stmtsPerReq)}`, `${f(a.cpuMsPerReq, 2)} / ${f(b.cpuMsPerReq, 2)}`,
        `${f(a.dbMsPerReq, 2)} / ${f(b.dbMsPerReq, 2)}`, `${f(a.pgCpuMsPerReq, 2)} / ${f(b.pgCpuMsPerReq, 2)}`,
        `${f(a.peakRssMb, 0)} / ${f(b.peakRssMb, 0)}`]);
    } else {
      rows.push([r.scenario, r.c, f(a.rps), trio(a), a.errors, f(a.stmtsPerReq), f(a.cpuMsPerReq, 2), f(a.dbMsPerReq, 2), f(a.pgCpuMsPerReq, 2), f(a.peakRssMb, 0)]);
    }
  }
  return rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
}

async function load() {
  const results = [];
  const scen = SCENARIOS.filter((s) => !ONLY || ONLY.some((o) => s.name.startsWith(o)));
  const total = scen.length * CONCURRENCY.length * targets.length * (ROUNDS * DURATION + WARMUP);
  console.log(`${scen.length} scenarios x ${CONCURRENCY.join('/')} clients x ${targets.join('/')} x ${ROUNDS} rounds of ${DURATION}s (+${WARMUP}s warm-up): ~${Math.round(total / 60)} min`);
  for (const s of scen) {
    for (const c of CONCURRENCY) {
      const runs = Object.fromEntries(targets.map((t) => [t, []]));
      if (WARMUP > 0) for (const t of targets) await measure(t, s, c, WARMUP, false);
      for (let round = 0; round < ROUNDS; round++) {
        for (const t of (round % 2 ? [...targets].reverse() : targets)) runs[t].push(await measure(t, s, c, DURATION));
      }
      const row = { scenario: s.name, c, ...Object.fromEntries(targets.map((t) => [t, summarize(runs[t])])) };
      results.push(row);
      console.log(targets.map((t) => `${s.name} c=${c} ${t}: ${f(row[t].rps)} req/s p50 ${f(row[t].p50)} p99 ${f(row[t].p99)} ms, ${row[t].errors} errors, ${f(row[t].stmtsPerReq)} stmts/req${row[t].firstError ? ` FIRST ERROR ${row[t].firstError}` : ''}`).join('\n'));
    }
  }
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify({ config: { DURATION, ROUNDS, WARMUP, CONCURRENCY, targets, size: cfg.size }, results }, null, 1));
  const md = table(results);
  fs.writeFileSync(path.join(OUT, 'table.md'), md + '\n');
  console.log('\n' + md);
  const errs = results.reduce((n, r) => n + targets.reduce((m, t) => m + r[t].errors, 0), 0);
  fs.writeFileSync(path.join(OUT, 'load.status'), errs ? `errors ${errs}\n` : 'ok\n');
  return errs;
}

// ---------- explain: one request per scenario x user x target, between log markers ----------
async function explain() {
  const users = ['analyst', 'district'];
  for (const s of SCENARIOS.filter((x) => !x.run || x.write)) {
    for (const u of s.write ? ['district'] : users) {
      for (const t of targets) {
        const mark = (what) => psql(`DO $$ BEGIN RAISE LOG 'BENCH-MARK ${what} ${t} ${s.name} ${u}'; END $$`);
        mark('begin');
        const r = s.write ? await write.run(t) : await runRead(t, { ...s, user: u });
        mark('end');
        if (typeof r === 'string') console.log(`explain ${t} ${s.name} ${u}: ERROR ${r}`);
      }
    }
  }
}

async function login() { // one plantrack sign-in per user (the login mutation)
  for (const [name, u] of Object.entries(cfg.users)) {
    if (u.token || !u.username) continue;
    const r = check(await post('plantrack', { query: 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', variables: { u: u.username, p: u.password } }, {}));
    if (typeof r === 'string') throw new Error(`login of ${name} failed: ${r}`);
    u.token = r.json.data.login.token;
  }
}

// The drafts' current versions (an earlier run or the verify step may have saved them).
async function refreshDrafts() {
  if (!drafts.length) return;
  const q = `{ ${drafts.map((d, i) => `s${i}: node(id: "${gid('Submission', d.submissionId)}") { ... on Submission { version } }`).join(' ')} }`;
  const r = check(await post('plantrack', { query: q }, authHeaders('plantrack', 'district')));
  if (typeof r === 'string') throw new Error(`reading the drafts' versions failed: ${r}`);
  drafts.forEach((d, i) => { d.version = r.json.data[`s${i}`].version; });
}

await login();
await detectSchema();
await refreshDrafts();
let status = 0;
if (mode === 'verify') status = await verify();
else if (mode === 'explain') await explain();
else status = await load();
for (const a of Object.values(agents)) a.destroy();
process.exit(status ? 1 : 0);
