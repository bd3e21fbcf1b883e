-- Synthetic report data for the report-search benchmark (issue 8 part 4): see SEARCH.md.
-- Run as the schema owner on a migrated and seeded database:
--   psql "$URL" -v rows=500000 -f bench/search_500k.sql
-- Deterministic (setseed). Adds synthetic periods ("bench-NNNN") so that every row gets
-- its own (agency, task, period), and fills submission with `rows` reports spread evenly
-- over every agency, task and period. search_text holds 30-80 words drawn, Zipf-like,
-- from a 2,000-word folded vocabulary; ~0.5% of rows contain the phrase "kinh phi".
-- No vocabulary word contains "kinh" or "phi", so "kinh phi" matches only those rows.
\set ON_ERROR_STOP on
\if :{?rows}
\else
  \set rows 500000
\endif
\timing on
SELECT setseed(0.20260104);

-- Vocabulary: the folded words of the seeded plan, most frequent first, then Vietnamese-
-- shaped syllables (onset + rhyme) in a fixed shuffled order, 2,000 words in all.
CREATE TEMP TABLE bench_vocab (rank int PRIMARY KEY, word text NOT NULL UNIQUE);
WITH seed_words AS (
    SELECT w, count(*) AS c
    FROM (SELECT regexp_split_to_table(search_text, '[^a-z]+') AS w FROM task) x
    WHERE w <> '' AND w !~ '(kinh|phi)'
    GROUP BY w
), synthetic AS (
    SELECT DISTINCT o || r AS w
    FROM unnest('{b,c,ch,d,g,gi,h,k,kh,l,m,n,ng,ngh,nh,p,ph,qu,r,s,t,th,tr,v,x}'::text[]) o,
         unnest('{a,ac,ach,ai,am,an,ang,anh,ao,ap,at,au,ay,e,ec,em,en,eo,ep,et,eu,i,ia,ich,iem,ien,iep,iet,ieu,im,in,inh,ip,it,iu,o,oa,oac,oach,oai,oan,oang,oanh,oat,oay,oc,oe,oi,om,on,ong,op,ot,u,ua,uan,uat,uc,ue,ui,um,un,ung,uoc,uoi,uom,uon,uong,uot,up,ut,uu,uy,uyen,uyet,y,yen,oen,oet,uech,uenh,uya,uych,uynh,oong,uap,uau,uay,ueo,uyu,iec,ieng,uyt,ooc}'::text[]) r
    WHERE o || r !~ '(kinh|phi)'
), ranked AS (
    SELECT w, 0 AS src, -c AS k1, w AS k2 FROM seed_words
    UNION ALL
    SELECT w, 1, 0, md5(w) FROM synthetic WHERE w NOT IN (SELECT w FROM seed_words)
)
INSERT INTO bench_vocab
SELECT row_number() OVER (ORDER BY src, k1, k2), w FROM ranked
ORDER BY src, k1, k2
LIMIT 2000;
SELECT count(*) AS vocabulary, min(word) FILTER (WHERE rank = 1) AS most_common FROM bench_vocab;

-- Periods: enough for one row per (agency, task, period).
CREATE TEMP TABLE bench_agency AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS idx, id FROM agency;
CREATE TEMP TABLE bench_task AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS idx, id, plan_id FROM task;
INSERT INTO period (code, kind, starts_on, ends_on, label)
SELECT format('bench-%s', lpad(n::text, 4, '0')), 'HALF_YEAR',
       (date '2031-01-01' + make_interval(months => 6 * (n::int - 1)))::date,
       (date '2031-01-01' + make_interval(months => 6 * n::int) - interval '1 day')::date,
       format('Kỳ thử nghiệm %s', n)
FROM generate_series(1, greatest(0,
        ceil(:rows::numeric / ((SELECT count(*) FROM bench_agency) * (SELECT count(*) FROM bench_task)))::int
        - (SELECT count(*) FROM period WHERE code NOT LIKE 'bench-%')
        - (SELECT count(*) FROM period WHERE code LIKE 'bench-%'))) n;
CREATE TEMP TABLE bench_period AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS idx, id FROM period;
ANALYZE bench_vocab, bench_agency, bench_task, bench_period;

-- The trigram index is dropped for the load and rebuilt after it (much faster than
-- maintaining it row by row), with the migration's definition, if it was there.
SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'submission_search_text_trgm') AS had_trgm \gset
DROP INDEX IF EXISTS submission_search_text_trgm;

-- Reports. Row g: agency varies fastest, then task, then period (unique triple).
-- Status: 10% DRAFT, 45% SUBMITTED, 40% ACCEPTED, 5% RETURNED.
WITH v AS (SELECT array_agg(word ORDER BY rank) AS a, count(*)::int AS n FROM bench_vocab),
     dims AS (SELECT (SELECT count(*) FROM bench_agency)::int AS na,
                     (SELECT count(*) FROM bench_task)::int AS nt)
INSERT INTO submission (agency_id, plan_id, task_id, period_id, status, progress,
                        summary, results, difficulties, proposals, version, on_time,
                        created_at, updated_at, submitted_at, reviewed_at, search_text)
SELECT a.id, t.plan_id, t.id, p.id, r.status,
       (ARRAY['NOT_STARTED', 'IN_PROGRESS', 'COMPLETED'])[1 + floor(random() * 3)::int],
       txt.text, '', '', '',
       CASE WHEN r.status = 'DRAFT' THEN 1 ELSE 1 + floor(random() * 3)::int END,
       CASE WHEN r.status = 'DRAFT' THEN NULL ELSE random() < 0.8 END,
       r.created_at, r.created_at + interval '2 hours',
       CASE WHEN r.status = 'DRAFT' THEN NULL ELSE r.created_at + interval '1 hour' END,
       CASE WHEN r.status IN ('ACCEPTED', 'RETURNED') THEN r.created_at + interval '2 hours' END,
       txt.text
FROM v CROSS JOIN dims CROSS JOIN generate_series(0, :rows - 1) g
CROSS JOIN LATERAL (
    SELECT CASE WHEN x.s < 0.10 THEN 'DRAFT' WHEN x.s < 0.55 THEN 'SUBMITTED'
                WHEN x.s < 0.95 THEN 'ACCEPTED' ELSE 'RETURNED' END AS status,
           x.nw, x.kp, 1 + floor(x.pos * x.nw)::int AS kpos,
           timestamptz '2021-01-01 00:00:00+07' + g * interval '5 minutes' AS created_at
    FROM (SELECT random() AS s, 30 + floor(random() * 51)::int AS nw,
                 random() < 0.005 AS kp, random() AS pos, g AS keep_lateral) x
) r
CROSS JOIN LATERAL (
    SELECT string_agg(CASE WHEN r.kp AND i = r.kpos THEN 'kinh phi ' ELSE '' END
                      || v.a[1 + floor(v.n * random() ^ 3)::int], ' ' ORDER BY i) AS text
    FROM generate_series(1, r.nw) i
) txt
JOIN bench_agency a ON a.idx = g % dims.na
JOIN bench_task t ON t.idx = (g / dims.na) % dims.nt
JOIN bench_period p ON p.idx = g / (dims.na * dims.nt);

\if :had_trgm
SET maintenance_work_mem = '512MB';
CREATE INDEX submission_search_text_trgm ON submission USING gin (search_text gin_trgm_ops);
\endif
VACUUM ANALYZE submission;
SELECT count(*) AS reports,
       count(*) FILTER (WHERE search_text LIKE '%kinh phi%') AS with_kinh_phi,
       round(avg(array_length(regexp_split_to_array(search_text, ' '), 1)), 1) AS avg_words,
       pg_size_pretty(pg_table_size('submission')) AS table_size,
       pg_size_pretty(pg_relation_size('submission_search_text_trgm')) AS trgm_index_size
FROM submission;
SELECT status, count(*) FROM submission GROUP BY status ORDER BY status;
