-- National-scale data for the plantrack vs PostGraphile benchmark (issue 9): see
-- bench/BENCHMARKS.md. Run as the schema owner on a freshly migrated and seeded database:
--   psql "$OWNER_URL" -v size=national -f bench/generate.sql     (default; >= 500,000 reports)
--   psql "$OWNER_URL" -v size=small    -f bench/generate.sql     (a few thousand; CI smoke)
-- Deterministic: no random(); every "random" choice is a hash of the row's natural key
-- (hashint8), so the same database comes out on every run. A second run on the same
-- database changes nothing (it stops at the marker plan of province 1).
--
-- What it builds, shaped like the seeded plan 768/QĐ-UBND (province 0, Binh Dinh):
--  * provinces 1..N-1: copies of the seeded agencies (ministries stay national and shared),
--    groups, plan, sections, tasks, task periods, deliverables and assignments, with
--    province-prefixed codes ("p07-so-ldtbxh", "P07-768/QĐ-UBND"), since codes are
--    globally unique today;
--  * three more district-level units per province ("...ubnd-bench-1..3"), members of the
--    province's "all districts" group: 30 tenant agencies per province;
--  * YEAR and HALF_YEAR periods from year_from to year_to (inserted where missing);
--  * a reporting window per plan and period: closed for periods that ended before 2025,
--    open (until mid-2031) for the others;
--  * one report per (tenant agency, task of its province's plan, period), in every status,
--    with evidence per deliverable (submission_deliverable), audit_log rows (create,
--    submit, review) and search_text (the folded text, as the service writes it);
--  * the reports of the "writer" agency (province 0's ubnd-tay-son) in open windows are
--    drafts, so that the write scenario always has drafts to save.
\set ON_ERROR_STOP on
\if :{?size}
\else
  \set size national
\endif
SELECT :'size' = 'small' AS small \gset
\if :small
  \set provinces 2
  \set year_from 2024
  \set year_to 2025
\else
  \set provinces 34
  \set year_from 2022
  \set year_to 2030
\endif
\set writer 'ubnd-tay-son'
\timing on

SELECT EXISTS (SELECT 1 FROM agency WHERE code = 'ubnd-bench-1') AS done \gset
\if :done
  \echo 'generate.sql: already generated, nothing to do'
  \quit
\endif

-- h(key, salt): a pseudo-random number in [0, 1) from a hash, deterministic.
CREATE FUNCTION pg_temp.h(key bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE
    AS $$ SELECT (hashint8(key * 64 + salt)::bigint & 2147483647)::float8 / 2147483648.0 $$;

BEGIN;

-- Provinces: 0 is the seeded one; prefix of its copies' codes.
CREATE TEMP TABLE bench_province AS
SELECT p, CASE WHEN p = 0 THEN '' ELSE format('p%s-', lpad(p::text, 2, '0')) END AS prefix
FROM generate_series(0, :provinces - 1) p;

-- Agencies. Ministries are national: shared, not copied.
INSERT INTO agency (code, name, short_name, search_text, kind, is_tenant, valid_from, valid_to, successor_id)
SELECT pr.prefix || a.code, a.name || format(' (tỉnh %s)', pr.p), a.short_name || format(' T%s', pr.p),
       a.search_text || format(' (tinh %s)', pr.p), a.kind, a.is_tenant, a.valid_from, a.valid_to, NULL
FROM bench_province pr CROSS JOIN agency a
WHERE pr.p > 0 AND a.kind <> 'MINISTRY'
ORDER BY pr.p, a.id;
INSERT INTO agency (code, name, short_name, search_text, kind, is_tenant, valid_from, valid_to, successor_id)
SELECT pr.prefix || 'ubnd-bench-' || k, format('UBND huyện Thử nghiệm %s (tỉnh %s)', k, pr.p),
       format('UBND huyện TN%s T%s', k, pr.p), format('ubnd huyen thu nghiem %s (tinh %s)', k, pr.p),
       'DISTRICT', true, NULL, NULL, NULL
FROM bench_province pr CROSS JOIN generate_series(1, 3) k
ORDER BY pr.p, k;
-- old (seeded) agency id -> its copy in province p (ministries map to themselves).
CREATE TEMP TABLE bench_agency_map AS
SELECT pr.p, a.id AS old_id, coalesce(c.id, a.id) AS new_id
FROM bench_province pr CROSS JOIN agency a
LEFT JOIN agency c ON c.code = pr.prefix || a.code AND a.kind <> 'MINISTRY'
WHERE a.id IN (SELECT id FROM agency WHERE code NOT LIKE 'p__-%' AND code NOT LIKE 'ubnd-bench-%');
CREATE UNIQUE INDEX ON bench_agency_map (p, old_id);

-- Plans.
INSERT INTO plan (code, title, issuer_id, coordinator_id, issued_on, start_year, end_year)
SELECT upper(pr.prefix) || pl.code, pl.title || format(' (tỉnh %s)', pr.p), mi.new_id, mc.new_id,
       pl.issued_on, pl.start_year, pl.end_year
FROM bench_province pr CROSS JOIN plan pl
JOIN bench_agency_map mi ON mi.p = pr.p AND mi.old_id = pl.issuer_id
JOIN bench_agency_map mc ON mc.p = pr.p AND mc.old_id = pl.coordinator_id
WHERE pr.p > 0 AND pl.code = '768/QĐ-UBND'
ORDER BY pr.p;
CREATE TEMP TABLE bench_plan_map AS
SELECT pr.p, o.id AS old_id, n.id AS new_id
FROM bench_province pr JOIN plan o ON o.code = '768/QĐ-UBND'
JOIN plan n ON n.code = upper(pr.prefix) || o.code;

-- Groups and their members.
INSERT INTO agency_group (code, name, plan_id, note, expands_to)
SELECT pr.prefix || g.code, g.name || format(' (tỉnh %s)', pr.p), pm.new_id, g.note, g.expands_to
FROM bench_province pr CROSS JOIN agency_group g
LEFT JOIN bench_plan_map pm ON pm.p = pr.p AND pm.old_id = g.plan_id
WHERE pr.p > 0
ORDER BY pr.p, g.id;
CREATE TEMP TABLE bench_group_map AS
SELECT pr.p, o.id AS old_id, n.id AS new_id
FROM bench_province pr CROSS JOIN agency_group o JOIN agency_group n ON n.code = pr.prefix || o.code
WHERE o.code NOT LIKE 'p__-%';
INSERT INTO agency_group_member (group_id, agency_id)
SELECT gm.new_id, am.new_id
FROM bench_group_map gm JOIN agency_group_member m ON m.group_id = gm.old_id
JOIN bench_agency_map am ON am.p = gm.p AND am.old_id = m.agency_id
WHERE gm.p > 0;
INSERT INTO agency_group_member (group_id, agency_id)
SELECT gm.new_id, a.id
FROM bench_group_map gm JOIN agency_group g ON g.id = gm.old_id AND g.code = 'ubnd-cac-huyen'
JOIN bench_province pr ON pr.p = gm.p
JOIN agency a ON a.code IN (pr.prefix || 'ubnd-bench-1', pr.prefix || 'ubnd-bench-2', pr.prefix || 'ubnd-bench-3');

-- Sections, tasks, task periods, deliverables, assignments.
INSERT INTO section (plan_id, numeral, title, position, part)
SELECT pm.new_id, s.numeral, s.title, s.position, s.part
FROM bench_plan_map pm JOIN section s ON s.plan_id = pm.old_id
WHERE pm.p > 0 ORDER BY pm.p, s.id;
INSERT INTO task (plan_id, section_id, number, content, search_text, schedule, timeframe_wording, inferred_note, position)
SELECT pm.new_id, ns.id, t.number, t.content, t.search_text, t.schedule, t.timeframe_wording, t.inferred_note, t.position
FROM bench_plan_map pm JOIN task t ON t.plan_id = pm.old_id
JOIN section os ON os.id = t.section_id
JOIN section ns ON ns.plan_id = pm.new_id AND ns.numeral = os.numeral
WHERE pm.p > 0 ORDER BY pm.p, t.id;
CREATE TEMP TABLE bench_task_map AS
SELECT pm.p, t.id AS old_id, n.id AS new_id
FROM bench_plan_map pm JOIN task t ON t.plan_id = pm.old_id
JOIN task n ON n.plan_id = pm.new_id AND n.position = t.position;
INSERT INTO task_period (task_id, period_id)
SELECT tm.new_id, tp.period_id FROM bench_task_map tm JOIN task_period tp ON tp.task_id = tm.old_id
WHERE tm.p > 0;
INSERT INTO deliverable (task_id, description, position, inferred)
SELECT tm.new_id, d.description, d.position, d.inferred
FROM bench_task_map tm JOIN deliverable d ON d.task_id = tm.old_id
WHERE tm.p > 0 ORDER BY tm.p, d.id;
INSERT INTO assignment (task_id, role, agency_id, group_id, wording, position)
SELECT tm.new_id, x.role, am.new_id, gm.new_id, x.wording, x.position
FROM bench_task_map tm JOIN assignment x ON x.task_id = tm.old_id
LEFT JOIN bench_agency_map am ON am.p = tm.p AND am.old_id = x.agency_id
LEFT JOIN bench_group_map gm ON gm.p = tm.p AND gm.old_id = x.group_id
WHERE tm.p > 0 ORDER BY tm.p, x.id;

-- Reporting periods (the seed has 2021-2030; add what is missing) and windows.
INSERT INTO period (code, kind, starts_on, ends_on, label)
SELECT y::text, 'YEAR', make_date(y, 1, 1), make_date(y, 12, 31), format('Năm %s', y)
FROM generate_series(:year_from, :year_to) y
UNION ALL
SELECT y || 'S' || s, 'HALF_YEAR', make_date(y, 6 * s - 5, 1),
       (make_date(y, 6 * s - 5, 1) + interval '6 months' - interval '1 day')::date,
       format('6 tháng %s năm %s', CASE s WHEN 1 THEN 'đầu' ELSE 'cuối' END, y)
FROM generate_series(:year_from, :year_to) y CROSS JOIN generate_series(1, 2) s
ON CONFLICT (code) DO NOTHING;
CREATE TEMP TABLE bench_period AS
SELECT id, code, starts_on, ends_on,
       (ends_on + 15)::timestamptz AS due_at,
       ends_on >= date '2025-01-01' AS open
FROM period
WHERE kind IN ('YEAR', 'HALF_YEAR')
  AND starts_on >= make_date(:year_from, 1, 1) AND ends_on <= make_date(:year_to, 12, 31);
INSERT INTO reporting_window (plan_id, period_id, opens_at, due_at, closes_at, reopened, created_by, created_at, updated_at)
SELECT pl.id, pe.id, CASE WHEN pe.open THEN least(pe.starts_on, date '2025-01-01') ELSE pe.starts_on END::timestamptz, pe.due_at,
       CASE WHEN pe.open THEN timestamptz '2031-06-30 00:00:00+07' ELSE pe.due_at + interval '30 days' END,
       false, NULL, pe.starts_on::timestamptz, pe.starts_on::timestamptz
FROM plan pl CROSS JOIN bench_period pe
ON CONFLICT (plan_id, period_id) DO NOTHING;

-- Vocabulary for report text: the folded words of the seeded plan's tasks.
CREATE TEMP TABLE bench_vocab AS
SELECT array_agg(w ORDER BY c DESC, w) AS a, count(*)::int AS n
FROM (SELECT w, count(*) AS c
      FROM (SELECT regexp_split_to_table(search_text, '[^a-z]+') AS w FROM task WHERE plan_id = (SELECT min(id) FROM plan)) x
      WHERE length(w) > 1 GROUP BY w) y;

-- Who reports on what: every tenant of a province, on every task of its plan, for every
-- period.
CREATE TEMP TABLE bench_tenant AS
SELECT pr.p, a.id AS agency_id, a.code
FROM bench_province pr JOIN agency a
  ON (pr.p = 0 AND a.code NOT LIKE 'p__-%') OR (pr.p > 0 AND a.code LIKE pr.prefix || '%')
WHERE a.is_tenant;
CREATE TEMP TABLE bench_ptask AS
SELECT pm.p, t.id AS task_id, t.plan_id FROM bench_plan_map pm JOIN task t ON t.plan_id = pm.new_id;
ANALYZE bench_tenant, bench_ptask, bench_period;
SELECT count(*) AS tenants FROM bench_tenant;

SELECT coalesce(max(id), 0) AS first_id FROM submission \gset
-- search_text exists from migration m20260104 on; older binaries lack it.
SELECT EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_name = 'submission' AND column_name = 'search_text') AS has_search_text \gset
\if :has_search_text
  \set search_col ', search_text'
  \set search_val ', search_text'
\else
  \set search_col ''
  \set search_val ''
  \echo 'submission.search_text does not exist (binary before m20260104): not filled'
\endif
SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'submission_search_text_trgm') AS had_trgm \gset
DROP INDEX IF EXISTS submission_search_text_trgm;

-- Reports. Status: DRAFT 20%, SUBMITTED 30%, RETURNED 10%, ACCEPTED 40% (the writer's
-- reports in open windows are drafts). Text: 8-23 words of the vocabulary (Zipf-like).
INSERT INTO submission (agency_id, plan_id, task_id, period_id, status, progress,
                        summary, results, difficulties, proposals, version, on_time, review_comment,
                        created_at, updated_at, submitted_at, reviewed_at :search_col)
SELECT r.agency_id, r.plan_id, r.task_id, r.period_id, r.status,
       (ARRAY['NOT_STARTED', 'IN_PROGRESS', 'COMPLETED'])[1 + floor(pg_temp.h(r.k, 2) * 3)::int],
       r.t, '', CASE WHEN pg_temp.h(r.k, 3) < 0.3 THEN 'Kinh phí hạn chế' ELSE '' END, '',
       CASE r.status WHEN 'DRAFT' THEN 1 WHEN 'SUBMITTED' THEN 2 ELSE 3 END,
       CASE WHEN r.status = 'DRAFT' THEN NULL ELSE r.submitted_at <= r.due_at END,
       CASE r.status WHEN 'RETURNED' THEN 'Đề nghị bổ sung số liệu' WHEN 'ACCEPTED' THEN 'Đạt' END,
       r.created_at,
       CASE r.status WHEN 'DRAFT' THEN r.created_at WHEN 'SUBMITTED' THEN r.submitted_at
                     ELSE r.submitted_at + interval '3 days' END,
       CASE WHEN r.status <> 'DRAFT' THEN r.submitted_at END,
       CASE WHEN r.status IN ('ACCEPTED', 'RETURNED') THEN r.submitted_at + interval '3 days' END
       :search_val
FROM (SELECT r.*, txt.t, txt.t || CASE WHEN pg_temp.h(r.k, 3) < 0.3 THEN E'\n\nkinh phi han che' ELSE E'\n\n' END
             || E'\n\n' || format('bao cao so %s/bc', r.k % 997 + 1) AS search_text
FROM (
    SELECT t.agency_id, pt.plan_id, pt.task_id, pe.id AS period_id, pe.due_at,
           (t.agency_id * 100000 + pt.task_id) * 100 + pe.id AS k,
           CASE WHEN t.p = 0 AND t.code = :'writer' AND pe.open THEN 'DRAFT'
                ELSE (SELECT CASE WHEN u < 0.2 THEN 'DRAFT' WHEN u < 0.5 THEN 'SUBMITTED'
                                  WHEN u < 0.6 THEN 'RETURNED' ELSE 'ACCEPTED' END
                      FROM (SELECT pg_temp.h((t.agency_id * 100000 + pt.task_id) * 100 + pe.id, 1) AS u) x)
           END AS status,
           pe.starts_on + (pg_temp.h((t.agency_id * 100000 + pt.task_id) * 100 + pe.id, 4)
                           * (pe.ends_on - pe.starts_on + 1)) * interval '1 day' AS created_at,
           pe.ends_on + (pg_temp.h((t.agency_id * 100000 + pt.task_id) * 100 + pe.id, 5) * 20 - 4) * interval '1 day'
             AS submitted_at
    FROM bench_tenant t JOIN bench_ptask pt ON pt.p = t.p CROSS JOIN bench_period pe
) r
CROSS JOIN bench_vocab v
CROSS JOIN LATERAL (
    SELECT string_agg(v.a[1 + floor(v.n * pg_temp.h(r.k, 10 + i) ^ 2)::int], ' ' ORDER BY i) AS t
    FROM generate_series(1, 8 + floor(pg_temp.h(r.k, 6) * 16)::int) i
) txt) r
ORDER BY r.created_at;

-- Evidence: one row per deliverable of the task, referencing a report.
INSERT INTO submission_deliverable (submission_id, agency_id, deliverable_id, status, document_ref, url)
SELECT s.id, s.agency_id, d.id,
       CASE WHEN s.status = 'DRAFT' THEN 'IN_PROGRESS' ELSE s.progress END,
       format('Báo cáo số %s/BC', ((s.agency_id * 100000 + s.task_id) * 100 + s.period_id) % 997 + 1),
       CASE WHEN d.position = 1 THEN format('https://example.invalid/bc/%s', s.id) END
FROM submission s JOIN deliverable d ON d.task_id = s.task_id
WHERE s.id > :first_id;

-- History: create (draft), submit (from draft), review (accept / return).
INSERT INTO audit_log (actor_id, agency_id, entity, entity_id, action, before, after, at, during_draft)
SELECT NULL, s.agency_id, 'submission', s.id, x.action, x.before, x.after, x.at, x.during_draft
FROM submission s
CROSS JOIN LATERAL (
    SELECT 'create' AS action, NULL::json AS before,
           json_build_object('status', 'DRAFT', 'progress', 'NOT_STARTED', 'version', 1) AS after,
           s.created_at AS at, true AS during_draft
    UNION ALL
    SELECT 'submit', json_build_object('status', 'DRAFT', 'version', 1),
           json_build_object('status', 'SUBMITTED', 'version', 2), s.submitted_at, true
    WHERE s.status <> 'DRAFT'
    UNION ALL
    SELECT CASE s.status WHEN 'ACCEPTED' THEN 'accept' ELSE 'return' END,
           json_build_object('status', 'SUBMITTED', 'version', 2),
           json_build_object('status', s.status, 'version', 3, 'reviewComment', s.review_comment),
           s.reviewed_at, false
    WHERE s.status IN ('ACCEPTED', 'RETURNED')
) x
WHERE s.id > :first_id
ORDER BY x.at;
COMMIT;

\if :had_trgm
SET maintenance_work_mem = '512MB';
CREATE INDEX submission_search_text_trgm ON submission USING gin (search_text gin_trgm_ops);
\endif
VACUUM ANALYZE;

SELECT (SELECT count(*) FROM plan) AS plans, (SELECT count(*) FROM task) AS tasks,
       (SELECT count(*) FROM agency) AS agencies, (SELECT count(*) FROM agency WHERE is_tenant) AS tenants,
       (SELECT count(*) FROM period) AS periods, (SELECT count(*) FROM reporting_window) AS windows,
       (SELECT count(*) FROM submission) AS submissions,
       (SELECT count(*) FROM submission_deliverable) AS evidence,
       (SELECT count(*) FROM audit_log) AS audit_rows,
       pg_size_pretty(pg_database_size(current_database())) AS db_size;
SELECT status, count(*) FROM submission GROUP BY status ORDER BY status;
