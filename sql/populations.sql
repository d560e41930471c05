-- populations.sql
-- Grain: one temp table per population of the report period P (indicators.md, "Terms used below"); one row per
-- household, person, participant (person × cycle), help or contact. Every indicator file reads these tables
-- (materialised once per run, so the big contacts table is scanned once).
-- Reads only: the temp views households, persons, contacts, helps, followups (clean rows in force),
-- ref_labels, ref_eu27, cycle_funding_periods (cycle_id, funding_period) and the one-row parameter table
-- period_params (written by pipeline/indicators.py: report_kind 'cycle'|'range', cycle_id, p_start, p_end,
-- data_state, capacity_start/_end, capacity_period_days (days of the cycle, or days of P inside some cycle),
-- place_days, coach_fte, ltu_months_under_25, ltu_months_25_plus, eecr01_inactive_at_entry_only,
-- counted_help_statuses, rural_municipalities).

-- Full years of life at a date: one less before this year's birthday (29 Feb birthdays turn on 1 March).
CREATE OR REPLACE TEMP MACRO full_years(birth, at_date) AS
    year(at_date) - year(birth)
    - CASE WHEN month(at_date) < month(birth) OR (month(at_date) = month(birth) AND day(at_date) < day(birth))
           THEN 1 ELSE 0 END;

-- Days of a closed interval [lo, hi]; 0 when empty.
CREATE OR REPLACE TEMP MACRO inclusive_days(lo, hi) AS greatest(0, date_diff('day', lo, hi) + 1);

-- numerator ÷ denominator, NULL (empty in the CSV) when the denominator is 0.
CREATE OR REPLACE TEMP MACRO share(numerator, denominator) AS
    CASE WHEN denominator = 0 OR denominator IS NULL THEN NULL ELSE numerator::DOUBLE / denominator END;

-- The parameters that select rows, as one variable: constants when a statement is planned, so their filters
-- reach the table scans and joins (a join with the period_params row is applied only after the joins).
SET VARIABLE period = (
    SELECT {'report_kind': report_kind, 'cycle_id': cycle_id, 'p_start': p_start, 'p_end': p_end,
            'data_state': data_state, 'counted_help_statuses': counted_help_statuses}
    FROM period_params);

-- Households that started: `nicht angetreten` belongs to no population. A view: its two readers take different
-- slices (a cycle report only the cohort), and copying every started household cost more than scanning twice.
CREATE OR REPLACE TEMP VIEW households_started AS
-- (lineage columns stay behind: indicators never read them, and copying the 64-character file hash
-- into every temp table was a large part of the step at 100 000 households)
SELECT * EXCLUDE (file_sha256, source_row, snapshot_date) FROM households
WHERE status IS DISTINCT FROM 'not_started';

-- Households of P with their window: cycle report = the cohort, window [entry, exit or data state];
-- range report = households active in P, window cut to P.
CREATE OR REPLACE TEMP TABLE households_of_period AS
WITH in_population AS (
    SELECT h.*,
           CASE WHEN p.report_kind = 'cycle' THEN h.entry_date
                ELSE greatest(h.entry_date, p.p_start) END AS window_start,
           CASE WHEN p.report_kind = 'cycle' THEN coalesce(h.exit_date, p.data_state)
                ELSE least(coalesce(h.exit_date, p.data_state), p.p_end) END AS window_end
    FROM households_started AS h, period_params AS p
    WHERE CASE WHEN getvariable('period').report_kind = 'cycle' THEN h.project_cycle = getvariable('period').cycle_id
               ELSE h.entry_date <= getvariable('period').p_end
                    AND (h.exit_date IS NULL OR h.exit_date >= getvariable('period').p_start) END
)
SELECT i.*,
       inclusive_days(i.window_start, i.window_end) AS window_days,
       -- capacity days: the window inside the cycle's start..end (cycle) or inside P (range)
       inclusive_days(greatest(i.window_start, p.capacity_start), least(i.window_end, p.capacity_end))
           AS capacity_days
FROM in_population AS i, period_params AS p;

-- Households ending in P: cohort households with an exit date (cycle) or exit ∈ P (range).
CREATE OR REPLACE TEMP VIEW households_ending_in_period AS
SELECT h.*
FROM households_of_period AS h, period_params AS p
WHERE h.exit_date IS NOT NULL
  AND (p.report_kind = 'cycle' OR h.exit_date BETWEEN p.p_start AND p.p_end);

-- Every person (any role) of a household of P, with the household's entry date (read once: K03, K04).
CREATE OR REPLACE TEMP VIEW persons_of_period_households AS
SELECT pe.person_id, pe.household_id, pe.role, pe.birth_date, h.entry_date AS household_entry_date
FROM persons AS pe JOIN households_of_period AS h USING (household_id);

-- Every ESF participant record of a started household, with the attributes the ESF indicators need.
CREATE OR REPLACE TEMP TABLE esf_participant_records AS
WITH with_household AS (
    SELECT pe.* EXCLUDE (file_sha256, source_row, snapshot_date, name_hash), pe.source_row AS record_row,
           h.project_cycle, cf.funding_period, h.jobcenter_site, h.household_type, h.municipality_ags,
           full_years(pe.birth_date, pe.esf_entry_date) AS age_at_entry,
           CASE
               WHEN pe.isced_foreign IS NOT NULL THEN
                   CASE pe.isced_foreign WHEN 'isced_0_2' THEN '0-2' WHEN 'isced_3_4' THEN '3-4'
                                         WHEN 'isced_5_8' THEN '5-8' END
               WHEN pe.vocational_qualification IN ('master_technician', 'bachelor', 'master_university', 'doctorate')
                   THEN '5-8'
               WHEN pe.vocational_qualification = 'apprenticeship' OR pe.school_qualification IN ('entrance_uas', 'abitur')
                   THEN '3-4'
               WHEN pe.school_qualification IN ('none', 'special_school', 'lower_secondary', 'intermediate')
                   THEN '0-2'
           END AS isced_group,
           CASE pe.gender WHEN 'female' THEN 'women' WHEN 'male' THEN 'men'
                          WHEN 'diverse' THEN 'non_binary' ELSE 'not_stated' END AS gender_category,
           -- upon leaving: the destination holds within 28 days after the ESF exit, otherwise `unbekannt`
           CASE
               WHEN pe.esf_exit_date IS NULL THEN NULL
               WHEN pe.destination IS NULL THEN 'unknown'
               WHEN pe.destination_start IS NULL OR pe.destination_start <= pe.esf_exit_date + 28 THEN pe.destination
               ELSE 'unknown'
           END AS destination_upon_leaving
    FROM persons AS pe JOIN households_started AS h USING (household_id)
    -- the ESF set a participation counts in is that of its cycle's funding period
    LEFT JOIN cycle_funding_periods AS cf ON cf.cycle_id = h.project_cycle
    WHERE pe.is_esf_participant AND pe.esf_entry_date IS NOT NULL
      -- a cycle report reads its cohort only (a range report needs every cycle: entries and exits by date)
      AND (getvariable('period').report_kind <> 'cycle' OR h.project_cycle = getvariable('period').cycle_id)
)
SELECT w.*,
       (w.gender IN ('female', 'male', 'diverse') AND w.birth_date IS NOT NULL
        AND w.employment_status_entry IS NOT NULL AND w.isced_group IS NOT NULL) AS is_complete,
       coalesce(w.employment_status_entry = 'unemployed' AND w.unemployed_since IS NOT NULL
                AND w.unemployed_since <= (w.esf_entry_date - to_months(
                        CASE WHEN w.age_at_entry < 25 THEN p.ltu_months_under_25 ELSE p.ltu_months_25_plus END))::DATE,
                FALSE) AS is_long_term_unemployed,
       coalesce(nullif(trim(w.citizenship), '') NOT IN (SELECT code FROM ref_eu27), FALSE) AS is_third_country,
       coalesce(list_contains(p.rural_municipalities, w.municipality_ags), FALSE) AS is_rural,
       TRUE AS is_cycle_record
FROM with_household AS w, period_params AS p;

-- A person with records in two households of one cycle counts once there: the record with the earliest ESF entry,
-- then the lowest household id (see esf_participants). Marked afterwards, for the few such persons: a second
-- read of every record (aggregate, or one window partition per person) cost a large part of the step.
UPDATE esf_participant_records AS r SET is_cycle_record = FALSE
FROM (SELECT person_id, project_cycle,
             arg_min(record_row, {'entry': esf_entry_date, 'household': household_id}) AS cycle_record_row
      FROM esf_participant_records
      GROUP BY person_id, project_cycle
      HAVING count(*) > 1) AS d
WHERE r.person_id = d.person_id AND r.project_cycle IS NOT DISTINCT FROM d.project_cycle
  AND r.record_row <> d.cycle_record_row;

-- One row per participant and cycle (a person supported again in a later cycle counts in both cycles).
CREATE OR REPLACE TEMP VIEW esf_participants AS
SELECT * EXCLUDE (is_cycle_record) FROM esf_participant_records WHERE is_cycle_record;

-- Participants entering in P: the cohort's participants (cycle) or ESF entry ∈ P (range); complete or not.
CREATE OR REPLACE TEMP VIEW participants_entering_in_period AS
SELECT ep.*
FROM esf_participants AS ep
WHERE CASE WHEN getvariable('period').report_kind = 'cycle' THEN ep.project_cycle = getvariable('period').cycle_id
           ELSE ep.esf_entry_date BETWEEN getvariable('period').p_start AND getvariable('period').p_end END;

-- Participants leaving in P: the cohort's participants with an ESF exit (cycle) or ESF exit ∈ P (range).
CREATE OR REPLACE TEMP VIEW participants_leaving_in_period AS
SELECT ep.*
FROM esf_participants AS ep
WHERE ep.esf_exit_date IS NOT NULL
  AND CASE WHEN getvariable('period').report_kind = 'cycle' THEN ep.project_cycle = getvariable('period').cycle_id
           ELSE ep.esf_exit_date BETWEEN getvariable('period').p_start AND getvariable('period').p_end END;

-- Counted helps: a counted status and initiated inside the household's window (K05–K08, K16).
CREATE OR REPLACE TEMP TABLE counted_helps AS
SELECT hl.help_id, hl.household_id, hl.help_type, hl.help_status, hl.initiated_date,
       help_type.group_code AS help_group
FROM helps AS hl
JOIN households_of_period AS h USING (household_id)
LEFT JOIN ref_labels AS help_type ON help_type.list_name = 'help_type' AND help_type.code = hl.help_type
WHERE list_contains(getvariable('period').counted_help_statuses, hl.help_status)
  AND hl.initiated_date BETWEEN h.window_start AND h.window_end;

-- Contacts that took place, dated inside the household's window (K11, K12); one row per household of P
-- with such contacts (counted here: copying millions of contact rows into a temp table was the slowest
-- statement of the step at 100 000 households).
CREATE OR REPLACE TEMP TABLE contacts_in_window AS
SELECT c.household_id, count(*) AS contacts, count(*) FILTER (WHERE c.contact_type = 'home_visit') AS home_visits
FROM contacts AS c JOIN households_of_period AS h USING (household_id)
WHERE c.took_place AND c.contact_date BETWEEN h.window_start AND h.window_end
GROUP BY c.household_id;

-- Months of the report: every month of P and of any household window (K01, K06 by month).
CREATE OR REPLACE TEMP TABLE report_months AS
WITH bounds AS (
    SELECT least(p.p_start, min(h.window_start)) AS first_day, greatest(p.p_end, max(h.window_end)) AS last_day
    FROM period_params AS p LEFT JOIN households_of_period AS h ON TRUE
    GROUP BY p.p_start, p.p_end
), months AS (
    SELECT unnest(generate_series(date_trunc('month', first_day), date_trunc('month', last_day),
                                  INTERVAL 1 MONTH))::DATE AS month_start
    FROM bounds
)
SELECT strftime(month_start, '%Y-%m') AS month,
       month_start,
       (month_start + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE AS month_end,
       row_number() OVER (ORDER BY month_start) AS month_order
FROM months;

-- Breakdown categories of every ESF indicator (esf_outputs.sql, esf_results.sql;
-- non-binary is reported for ESF+ only).
CREATE OR REPLACE TEMP TABLE esf_gender_categories AS
SELECT * FROM (VALUES ('total', 'total', 0), ('gender', 'women', 1), ('gender', 'men', 2),
                      ('gender', 'non_binary', 3)) AS g(dimension, category, cat_order);

-- The count rows of an ESF family (esf_outputs.sql, esf_results.sql): every `count` indicator of the family ×
-- gender category, from a flags view (person_id, project_cycle, funding_period, gender_category, then one
-- BOOLEAN column per indicator id). Each participant counts only in the set of its cycle's funding period.
-- Counted per funding period × gender category first, then those few rows unpivoted: unpivoting every
-- participant first made ~30 rows per participant for the join and the count.
CREATE OR REPLACE TEMP MACRO esf_flag_counts(flags_view) AS TABLE
WITH per_group AS (
    SELECT funding_period, gender_category,
           count_if(COLUMNS(* EXCLUDE (person_id, project_cycle, funding_period, gender_category))) AS "\0"
    FROM query_table(flags_view::VARCHAR)
    GROUP BY funding_period, gender_category
)
SELECT u.indicator_id, u.gender_category, sum(u.participants) AS participants
FROM (UNPIVOT per_group
      ON COLUMNS(* EXCLUDE (funding_period, gender_category))
      INTO NAME indicator_id VALUE participants) AS u
JOIN indicator_catalogue AS c ON c.indicator_id = u.indicator_id AND c.esf_funding_period = u.funding_period
GROUP BY u.indicator_id, u.gender_category;

CREATE OR REPLACE TEMP MACRO esf_count_rows(flags_view, indicator_family) AS TABLE
SELECT c.indicator_id, g.dimension, g.category,
       coalesce(sum(k.participants), 0)::BIGINT AS numerator, NULL::BIGINT AS denominator,
       coalesce(sum(k.participants), 0)::DOUBLE AS value, g.cat_order::INTEGER AS cat_order
FROM indicator_catalogue AS c
CROSS JOIN esf_gender_categories AS g
LEFT JOIN esf_flag_counts(flags_view) AS k
       ON k.indicator_id = c.indicator_id AND (g.dimension = 'total' OR k.gender_category = g.category)
WHERE c.family = indicator_family AND c.unit = 'count' AND (g.category <> 'non_binary' OR c.reports_non_binary)
GROUP BY c.indicator_id, g.dimension, g.category, g.cat_order;
