-- Bench-only set-up for PostGraphile on the plantrack database (issue 9): run as the
-- schema owner after migrate, seed and generate.sql. Nothing here belongs in the
-- migrations.
--
-- * bench_postgraphile: the login role PostGraphile connects as. It owns nothing and is
--   granted plantrack_app; PostGraphile switches to plantrack_app per request
--   (pgSettings `role`) and sets app.agency_id / app.role / app.plan_ids exactly as
--   plantrack's scoped transactions do, so the same row-level security policies bind it.
-- * No grant is missing for the scenarios: the migration grants SELECT/INSERT/UPDATE/
--   DELETE on every table to plantrack_app, and the policies cover submission,
--   submission_deliverable and audit_log (the catalog tables have no RLS, as in plantrack).
-- * Tables PostGraphile should not expose (password hashes, tokens, bookkeeping) are
--   hidden with smart comments.
-- * Functions for what PostGraphile cannot derive from the tables: a task's lead agencies
--   with groups expanded (computed column), progress by agency and a district's
--   obligations (the SQL plantrack runs, STABLE, SECURITY INVOKER: RLS applies), and a
--   save-report mutation doing what saveSubmission does in one PL/pgSQL function.
\set ON_ERROR_STOP on

DO $$ BEGIN CREATE ROLE bench_postgraphile LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT plantrack_app TO bench_postgraphile;
GRANT CONNECT ON DATABASE :"DBNAME" TO bench_postgraphile;

COMMENT ON TABLE app_user IS E'@omit';
COMMENT ON TABLE api_token IS E'@omit';
DO $$ BEGIN
    IF to_regclass('seaql_migrations') IS NOT NULL THEN COMMENT ON TABLE seaql_migrations IS E'@omit'; END IF;
    IF to_regclass('service_heartbeat') IS NOT NULL THEN COMMENT ON TABLE service_heartbeat IS E'@omit'; END IF;
END $$;

-- The agency coordinating a plan today: the latest hand-over, else the plan's own; what a
-- group that stands for the plan's coordinator (expands_to = 'PLAN_COORDINATOR') expands to.
CREATE OR REPLACE FUNCTION bench_coordinator(plan_id bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT h.agency_id FROM plan_coordination h
                     WHERE h.plan_id = bench_coordinator.plan_id AND h.valid_from <= current_date
                     ORDER BY h.valid_from DESC LIMIT 1),
                    (SELECT coordinator_id FROM plan WHERE id = bench_coordinator.plan_id))
$$;

-- Task.leadAgencies: direct lead agencies and members of lead groups, as plantrack's
-- loader expands them.
CREATE OR REPLACE FUNCTION task_lead_agencies(t task) RETURNS SETOF agency
LANGUAGE sql STABLE AS $$
    SELECT a.* FROM agency a
    WHERE a.id IN (SELECT x.agency_id FROM assignment x
                   WHERE x.task_id = t.id AND x.role = 'LEAD' AND x.agency_id IS NOT NULL
                   UNION
                   SELECT m.agency_id FROM assignment x JOIN agency_group_member m ON m.group_id = x.group_id
                   WHERE x.task_id = t.id AND x.role = 'LEAD'
                   UNION
                   SELECT bench_coordinator(g.plan_id) FROM assignment x
                   JOIN agency_group g ON g.id = x.group_id AND g.expands_to = 'PLAN_COORDINATOR'
                   WHERE x.task_id = t.id AND x.role = 'LEAD')
    ORDER BY a.id
$$;

-- progress(planCode, groupBy: AGENCY): plantrack's statement (captured from the server's
-- log), with its scope and survey conditions taken from the same settings the policies
-- read. Counts only what RLS lets the caller see.
DROP FUNCTION IF EXISTS bench_progress_by_agency(text);
DROP TYPE IF EXISTS bench_progress_row;
CREATE TYPE bench_progress_row AS (
    agency_id bigint, agency_code text, expected bigint, submitted bigint, accepted bigint,
    returned bigint, on_time bigint, not_started bigint, in_progress bigint, completed bigint,
    completeness float8, timeliness float8);
CREATE FUNCTION bench_progress_by_agency(plan_code text) RETURNS SETOF bench_progress_row
LANGUAGE sql STABLE AS $$
    WITH pl AS (SELECT id FROM plan WHERE code = plan_code),
    g AS (
        SELECT e.agency_id, count(*) AS expected,
               sum(CASE WHEN s.status = 'SUBMITTED' THEN 1 ELSE 0 END) AS submitted,
               sum(CASE WHEN s.status = 'ACCEPTED' THEN 1 ELSE 0 END) AS accepted,
               sum(CASE WHEN s.status = 'RETURNED' THEN 1 ELSE 0 END) AS returned,
               sum(CASE WHEN s.on_time AND s.status IN ('SUBMITTED', 'ACCEPTED') THEN 1 ELSE 0 END) AS on_time,
               sum(CASE WHEN s.progress = 'NOT_STARTED' THEN 1 ELSE 0 END) AS not_started,
               sum(CASE WHEN s.progress = 'IN_PROGRESS' THEN 1 ELSE 0 END) AS in_progress,
               sum(CASE WHEN s.progress = 'COMPLETED' THEN 1 ELSE 0 END) AS completed
        FROM (SELECT DISTINCT l.task_id, l.agency_id, p.id AS period_id
              FROM (SELECT x.task_id, x.agency_id FROM assignment x WHERE x.role = 'LEAD' AND x.agency_id IS NOT NULL
                    UNION
                    SELECT x.task_id, m.agency_id FROM assignment x JOIN agency_group_member m ON m.group_id = x.group_id
                    WHERE x.role = 'LEAD'
                    UNION
                    SELECT x.task_id, bench_coordinator(g.plan_id) FROM assignment x
                    JOIN agency_group g ON g.id = x.group_id AND g.expands_to = 'PLAN_COORDINATOR'
                    WHERE x.role = 'LEAD') l
              JOIN task t ON t.id = l.task_id
              JOIN agency a ON a.id = l.agency_id
              JOIN task_period tp ON tp.task_id = t.id
              JOIN period ph ON ph.id = tp.period_id
              JOIN period p ON p.starts_on >= ph.starts_on AND p.ends_on <= ph.ends_on
                   AND (t.schedule <> 'ONCE' OR p.id = ph.id)
              WHERE t.plan_id = (SELECT id FROM pl)
                AND p.id IN (SELECT w.period_id FROM reporting_window w WHERE w.plan_id = (SELECT id FROM pl))
                AND a.is_tenant
                AND (a.valid_from IS NULL OR a.valid_from <= p.ends_on)
                AND (a.valid_to IS NULL OR a.valid_to >= p.starts_on)
                AND (l.agency_id = (SELECT plantrack_agency())
                     OR (SELECT plantrack_role()) IN ('ANALYST', 'ADMIN')
                     OR ((SELECT plantrack_role()) = 'COORDINATOR' AND t.plan_id = ANY ((SELECT plantrack_plans())::bigint[])))
             ) e
        LEFT JOIN submission s ON s.agency_id = e.agency_id AND s.task_id = e.task_id AND s.period_id = e.period_id
        GROUP BY e.agency_id)
    SELECT g.agency_id, a.code, g.expected, g.submitted, g.accepted, g.returned, g.on_time,
           g.not_started, g.in_progress, g.completed,
           (g.submitted + g.accepted)::float8 / nullif(g.expected, 0),
           g.on_time::float8 / nullif(g.submitted + g.accepted, 0)
    FROM g JOIN agency a ON a.id = g.agency_id
    ORDER BY g.agency_id
$$;

-- obligations(periodCode): a report is expected from a lead agency (groups expanded) of a
-- task whose phase covers the period, in a plan with a reporting window for it, from a
-- tenant that exists then; the caller sees its own agency's (districts) or, as
-- coordinator/analyst, every agency's; with the report RLS lets it see.
DROP FUNCTION IF EXISTS bench_obligations(text);
DROP TYPE IF EXISTS bench_obligation;
CREATE TYPE bench_obligation AS (
    agency_id bigint, task_id bigint, period_code text, state text, on_time boolean,
    submission_id bigint, submission_status text);
CREATE FUNCTION bench_obligations(period_code text) RETURNS SETOF bench_obligation
LANGUAGE sql STABLE AS $$
    SELECT o.agency_id, o.task_id, p.code,
           coalesce(s.status, 'MISSING'), s.on_time, s.id, s.status
    FROM (SELECT x.task_id, x.agency_id FROM assignment x WHERE x.role = 'LEAD' AND x.agency_id IS NOT NULL
          UNION
          SELECT x.task_id, m.agency_id FROM assignment x JOIN agency_group_member m ON m.group_id = x.group_id
          WHERE x.role = 'LEAD'
          UNION
          SELECT x.task_id, bench_coordinator(g.plan_id) FROM assignment x
          JOIN agency_group g ON g.id = x.group_id AND g.expands_to = 'PLAN_COORDINATOR'
          WHERE x.role = 'LEAD') o
    JOIN task t ON t.id = o.task_id
    JOIN agency a ON a.id = o.agency_id
    JOIN period p ON p.code = period_code
    LEFT JOIN submission s ON s.agency_id = o.agency_id AND s.task_id = o.task_id AND s.period_id = p.id
    WHERE a.is_tenant
      AND EXISTS (SELECT 1 FROM task_period tp JOIN period ph ON ph.id = tp.period_id
                  WHERE tp.task_id = t.id AND p.starts_on >= ph.starts_on AND p.ends_on <= ph.ends_on
                    AND (t.schedule <> 'ONCE' OR p.id = ph.id))
      AND EXISTS (SELECT 1 FROM reporting_window w WHERE w.plan_id = t.plan_id AND w.period_id = p.id)
      AND (a.valid_from IS NULL OR a.valid_from <= p.ends_on)
      AND (a.valid_to IS NULL OR a.valid_to >= p.starts_on)
      AND (o.agency_id = (SELECT plantrack_agency())
           OR (SELECT plantrack_role()) IN ('ANALYST', 'ADMIN')
           OR ((SELECT plantrack_role()) = 'COORDINATOR' AND t.plan_id = ANY ((SELECT plantrack_plans())::bigint[])))
    ORDER BY t.plan_id, t.position, a.code
$$;

-- saveSubmission (update of an existing draft or returned report): the same checks and
-- writes as plantrack's service, in one function, so one statement from PostGraphile.
-- Errors are raised with plantrack's codes in the message.
DO $outer$
DECLARE
    has_search boolean := EXISTS (SELECT 1 FROM information_schema.columns
                                  WHERE table_name = 'submission' AND column_name = 'search_text');
BEGIN
EXECUTE format($f$
CREATE OR REPLACE FUNCTION bench_save_submission(
    task_id bigint, period_code text, progress text, summary text, difficulties text,
    evidence jsonb, expected_version int) RETURNS submission
LANGUAGE plpgsql VOLATILE AS $body$
DECLARE
    me bigint := plantrack_agency();
    t task;
    p period;
    before submission;
    after submission;
BEGIN
    IF plantrack_role() NOT IN ('EDITOR', 'COORDINATOR') THEN RAISE EXCEPTION 'FORBIDDEN'; END IF;
    SELECT * INTO t FROM task WHERE id = task_id;
    IF NOT FOUND THEN RAISE EXCEPTION 'NOT_FOUND: task'; END IF;
    SELECT * INTO p FROM period WHERE code = period_code AND kind IN ('YEAR', 'HALF_YEAR');
    IF NOT FOUND THEN RAISE EXCEPTION 'NOT_FOUND: period'; END IF;
    IF NOT EXISTS (SELECT 1 FROM task_period tp JOIN period ph ON ph.id = tp.period_id
                   WHERE tp.task_id = t.id AND p.starts_on >= ph.starts_on AND p.ends_on <= ph.ends_on
                     AND (t.schedule <> 'ONCE' OR p.id = ph.id)) THEN
        RAISE EXCEPTION 'BAD_USER_INPUT: the task is not carried out in the period';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM assignment x WHERE x.task_id = t.id AND x.agency_id = me
                   UNION ALL
                   SELECT 1 FROM assignment x JOIN agency_group_member m ON m.group_id = x.group_id
                   WHERE x.task_id = t.id AND m.agency_id = me
                   UNION ALL
                   SELECT 1 FROM assignment x
                   JOIN agency_group g ON g.id = x.group_id AND g.expands_to = 'PLAN_COORDINATOR'
                   WHERE x.task_id = t.id AND bench_coordinator(g.plan_id) = me) THEN
        RAISE EXCEPTION 'FORBIDDEN: the task does not assign your agency';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(evidence) e
               WHERE NOT EXISTS (SELECT 1 FROM deliverable d
                                 WHERE d.id = (e->>'deliverableId')::bigint AND d.task_id = t.id)) THEN
        RAISE EXCEPTION 'BAD_USER_INPUT: deliverable of another task';
    END IF;
    SELECT * INTO before FROM submission s
    WHERE s.agency_id = me AND s.task_id = t.id AND s.period_id = p.id;
    IF NOT FOUND THEN RAISE EXCEPTION 'NOT_FOUND: only updates are benchmarked'; END IF;
    IF before.version <> expected_version THEN RAISE EXCEPTION 'CONFLICT'; END IF;
    IF before.status NOT IN ('DRAFT', 'RETURNED') THEN RAISE EXCEPTION 'INVALID_TRANSITION'; END IF;
    IF NOT EXISTS (SELECT 1 FROM reporting_window w WHERE w.plan_id = t.plan_id AND w.period_id = p.id
                   AND now() >= w.opens_at AND now() < w.closes_at) THEN
        RAISE EXCEPTION 'WINDOW_CLOSED';
    END IF;
    UPDATE submission s SET version = s.version + 1, updated_at = now(), updated_by = NULL,
           summary = bench_save_submission.summary, difficulties = bench_save_submission.difficulties,
           progress = bench_save_submission.progress %s
    WHERE s.id = before.id AND s.version = before.version
    RETURNING * INTO after;
    IF NOT FOUND THEN RAISE EXCEPTION 'CONFLICT'; END IF;
    DELETE FROM submission_deliverable WHERE submission_id = after.id;
    INSERT INTO submission_deliverable (submission_id, agency_id, deliverable_id, status, document_ref, url)
    SELECT after.id, after.agency_id, (e->>'deliverableId')::bigint, e->>'status', e->>'documentRef', e->>'url'
    FROM jsonb_array_elements(evidence) e;
    INSERT INTO audit_log (actor_id, agency_id, entity, entity_id, action, before, after, at, during_draft)
    VALUES (NULL, after.agency_id, 'submission', after.id, 'update',
            json_build_object('status', before.status, 'progress', before.progress, 'summary', before.summary,
                              'results', before.results, 'difficulties', before.difficulties,
                              'proposals', before.proposals, 'version', before.version,
                              'onTime', before.on_time, 'reviewComment', before.review_comment),
            json_build_object('status', after.status, 'progress', after.progress, 'summary', after.summary,
                              'results', after.results, 'difficulties', after.difficulties,
                              'proposals', after.proposals, 'version', after.version,
                              'onTime', after.on_time, 'reviewComment', after.review_comment),
            now(), before.status = 'DRAFT');
    RETURN after;
END
$body$;
$f$, CASE WHEN has_search THEN
    ', search_text = lower(concat_ws(E''\n'', bench_save_submission.summary, s.results, bench_save_submission.difficulties, s.proposals, (SELECT string_agg(e->>''documentRef'', E''\n'') FROM jsonb_array_elements(evidence) e)))'
    ELSE '' END);
END
$outer$;
