-- project_indicators.sql
-- Grain of out_project_indicators: one row per project indicator (K01–K21, K09H) × breakdown category,
-- columns indicator_id, dimension, category, numerator, denominator, value, cat_order (order inside a dimension).
-- Purpose: the project's own figures for all funders (indicators.md, "Project indicators").
-- Reads the population views of populations.sql. Counts: numerator = value = count, denominator NULL;
-- shares: numerator, denominator, value (NULL when the denominator is 0); ratios and medians: value only.

-- Categories of the household breakdowns (K01, K05, K09), every label of the list.
CREATE OR REPLACE TEMP TABLE household_breakdown_categories AS
SELECT list_name AS dimension, code, label AS category, sort_order AS cat_order
FROM ref_labels WHERE list_name IN ('jobcenter_site', 'household_type');

-- Households of P, once per breakdown dimension.
CREATE OR REPLACE TEMP TABLE households_of_period_by_category AS
SELECT household_id, 'jobcenter_site' AS dimension, jobcenter_site AS code FROM households_of_period
UNION ALL
SELECT household_id, 'household_type' AS dimension, household_type AS code FROM households_of_period;

-- K05 numerator households with their first counted help (K16).
CREATE OR REPLACE TEMP TABLE households_with_counted_help AS
SELECT household_id, min(initiated_date) AS first_help_date, count(*) AS counted_helps
FROM counted_helps GROUP BY household_id;

-- Destination groups of K09 (measures) and K10 (integrations).
CREATE OR REPLACE TEMP TABLE participants_leaving_outcomes AS
SELECT person_id, project_cycle, household_id, jobcenter_site, household_type, exit_reason, employability_increased,
       destination_upon_leaving IN ('participation_16i', 'integration_16e', 'further_training_fbw', 'language_course',
                                    'jobcenter_measure_45', 'work_opportunity_16d') AS entered_measure,
       destination_upon_leaving IN ('employment_svp', 'self_employed', 'vocational_training', 'integration_16e')
           AS integrated
FROM participants_leaving_in_period;

CREATE OR REPLACE TEMP TABLE households_ending_with_measure AS
SELECT h.household_id,
       coalesce(bool_or(r.destination_upon_leaving IN ('participation_16i', 'integration_16e', 'further_training_fbw',
                                                      'language_course', 'jobcenter_measure_45',
                                                      'work_opportunity_16d')), FALSE) AS any_participant_in_measure
FROM households_ending_in_period AS h LEFT JOIN esf_participant_records AS r USING (household_id)
GROUP BY h.household_id;

-- K01 by month: +1 in the first month of each household's window, −1 in the month after its last (a window
-- ending before it starts touches no month: left out).
CREATE OR REPLACE TEMP VIEW household_month_changes AS
WITH spans AS (
    SELECT date_trunc('month', window_start)::DATE AS first_month, date_trunc('month', window_end)::DATE AS last_month
    FROM households_of_period
    WHERE date_trunc('month', window_start) <= date_trunc('month', window_end)
)
SELECT month_start, sum(change) AS change
FROM (SELECT first_month AS month_start, 1 AS change FROM spans
      UNION ALL
      SELECT (last_month + INTERVAL 1 MONTH)::DATE, -1 FROM spans)
GROUP BY month_start;

CREATE OR REPLACE TEMP VIEW out_project_indicators AS
WITH
k01 AS (
    SELECT 'K01' AS indicator_id, 'total' AS dimension, 'total' AS category,
           count(*) AS numerator, NULL AS denominator, count(*) AS value, 0 AS cat_order
    FROM households_of_period
    UNION ALL
    SELECT 'K01', c.dimension, c.category, count(b.household_id), NULL, count(b.household_id), c.cat_order
    FROM household_breakdown_categories AS c
    LEFT JOIN households_of_period_by_category AS b ON b.dimension = c.dimension AND b.code = c.code
    GROUP BY c.dimension, c.category, c.cat_order
    UNION ALL
    -- households whose window touches the month: a running sum of +1 in the window's first month and −1 after
    -- its last month (a range join of every household with every month was the costliest part of this view)
    SELECT 'K01', 'month', m.month, n.households, NULL, n.households, m.month_order
    FROM report_months AS m
    JOIN (SELECT m.month_start, sum(coalesce(c.change, 0)) OVER (ORDER BY m.month_start) AS households
          FROM report_months AS m LEFT JOIN household_month_changes AS c USING (month_start)) AS n USING (month_start)
),
k02 AS (
    SELECT 'K02' AS indicator_id, 'total' AS dimension, 'total' AS category,
           count(*) AS numerator, NULL AS denominator, count(*) AS value, 0 AS cat_order
    FROM participants_entering_in_period
    UNION ALL
    SELECT 'K02', 'gender', g.category, count(pe.person_id), NULL, count(pe.person_id), g.cat_order
    FROM (VALUES ('women', 1), ('men', 2), ('non_binary', 3), ('not_stated', 4)) AS g(category, cat_order)
    LEFT JOIN participants_entering_in_period AS pe ON pe.gender_category = g.category
    GROUP BY g.category, g.cat_order
),
k03_k04 AS (
    -- one pass over the persons of P's households for both counts
    SELECT k.indicator_id, 'total' AS dimension, 'total' AS category, k.persons AS numerator, NULL AS denominator,
           k.persons AS value, 0 AS cat_order
    FROM (SELECT count(DISTINCT person_id) AS K03,
                 count(DISTINCT person_id) FILTER (
                     WHERE birth_date IS NOT NULL AND full_years(birth_date, household_entry_date) < 18) AS K04
          FROM persons_of_period_households)
         UNPIVOT (persons FOR indicator_id IN (K03, K04)) AS k
),
k05 AS (
    SELECT 'K05' AS indicator_id, 'total' AS dimension, 'total' AS category,
           count(w.household_id) AS numerator, count(*) AS denominator,
           share(count(w.household_id), count(*)) AS value, 0 AS cat_order
    FROM households_of_period AS h LEFT JOIN households_with_counted_help AS w USING (household_id)
    UNION ALL
    SELECT 'K05', c.dimension, c.category, count(w.household_id), count(b.household_id),
           share(count(w.household_id), count(b.household_id)), c.cat_order
    FROM household_breakdown_categories AS c
    LEFT JOIN households_of_period_by_category AS b ON b.dimension = c.dimension AND b.code = c.code
    LEFT JOIN households_with_counted_help AS w ON w.household_id = b.household_id
    GROUP BY c.dimension, c.category, c.cat_order
),
k06_k07_k08 AS (
    SELECT 'K06' AS indicator_id, 'total' AS dimension, 'total' AS category,
           count(*) AS numerator, NULL AS denominator, count(*) AS value, 0 AS cat_order
    FROM counted_helps
    UNION ALL
    SELECT 'K06', 'help_group', g.label, count(ch.help_id), NULL, count(ch.help_id), g.sort_order
    FROM ref_labels AS g LEFT JOIN counted_helps AS ch ON ch.help_group = g.code
    WHERE g.list_name = 'help_group'
    GROUP BY g.label, g.sort_order
    UNION ALL
    -- helps initiated in the month
    SELECT 'K06', 'month', m.month, coalesce(ch.helps, 0), NULL, coalesce(ch.helps, 0), m.month_order
    FROM report_months AS m
    LEFT JOIN (SELECT date_trunc('month', initiated_date)::DATE AS month_start, count(help_id) AS helps
               FROM counted_helps GROUP BY 1) AS ch USING (month_start)
    UNION ALL
    SELECT 'K07', 'total', 'total', count(*) FILTER (WHERE help_status IN ('started', 'completed')), count(*),
           share(count(*) FILTER (WHERE help_status IN ('started', 'completed')), count(*)), 0
    FROM counted_helps
    UNION ALL
    SELECT 'K08', 'total', 'total', NULL, NULL,
           share((SELECT count(*) FROM counted_helps), (SELECT count(*) FROM households_of_period)), 0
),
k09_k10 AS (
    SELECT 'K09' AS indicator_id, 'total' AS dimension, 'total' AS category,
           count(*) FILTER (WHERE entered_measure) AS numerator, count(*) AS denominator,
           share(count(*) FILTER (WHERE entered_measure), count(*)) AS value, 0 AS cat_order
    FROM participants_leaving_outcomes
    UNION ALL
    SELECT 'K09', c.dimension, c.category,
           count(*) FILTER (WHERE o.entered_measure), count(o.person_id),
           share(count(*) FILTER (WHERE o.entered_measure), count(o.person_id)), c.cat_order
    FROM household_breakdown_categories AS c
    LEFT JOIN participants_leaving_outcomes AS o
           ON c.code = CASE c.dimension WHEN 'jobcenter_site' THEN o.jobcenter_site ELSE o.household_type END
    GROUP BY c.dimension, c.category, c.cat_order
    UNION ALL
    SELECT 'K09H', 'total', 'total', count(*) FILTER (WHERE any_participant_in_measure), count(*),
           share(count(*) FILTER (WHERE any_participant_in_measure), count(*)), 0
    FROM households_ending_with_measure
    UNION ALL
    SELECT 'K10', 'total', 'total', count(*) FILTER (WHERE integrated), count(*),
           share(count(*) FILTER (WHERE integrated), count(*)), 0
    FROM participants_leaving_outcomes
),
k11_k12 AS (
    -- household-months = Σ window days ÷ 30.4375 (average month length)
    SELECT 'K11' AS indicator_id, 'total' AS dimension, 'total' AS category,
           NULL AS numerator, NULL AS denominator,
           share((SELECT coalesce(sum(contacts), 0) FROM contacts_in_window),
                 (SELECT sum(window_days) FROM households_of_period) / 30.4375) AS value,
           0 AS cat_order
    UNION ALL
    SELECT 'K12', 'total', 'total', coalesce(sum(home_visits), 0), coalesce(sum(contacts), 0),
           share(sum(home_visits), sum(contacts)), 0
    FROM contacts_in_window
),
k13 AS (
    SELECT 'K13' AS indicator_id, s.dimension, s.category, NULL AS numerator, NULL AS denominator,
           CASE s.category WHEN 'total' THEN q.median WHEN 'p25' THEN q.p25 ELSE q.p75 END AS value, s.cat_order
    FROM (VALUES ('total', 'total', 0), ('statistic', 'p25', 1), ('statistic', 'p75', 2))
             AS s(dimension, category, cat_order),
         (SELECT quantile_cont(date_diff('day', entry_date, exit_date) + 1, 0.5) AS median,
                 quantile_cont(date_diff('day', entry_date, exit_date) + 1, 0.25) AS p25,
                 quantile_cont(date_diff('day', entry_date, exit_date) + 1, 0.75) AS p75
          FROM households_ending_in_period) AS q
),
k14_k15 AS (
    SELECT 'K14' AS indicator_id, 'total' AS dimension, 'total' AS category,
           count(*) AS numerator, NULL AS denominator, count(*) AS value, 0 AS cat_order
    FROM participants_leaving_outcomes
    UNION ALL
    SELECT 'K14', 'exit_reason', r.label, count(o.person_id), NULL, count(o.person_id), r.sort_order
    FROM ref_labels AS r LEFT JOIN participants_leaving_outcomes AS o ON o.exit_reason = r.code
    WHERE r.list_name = 'exit_reason'
    GROUP BY r.label, r.sort_order
    UNION ALL
    SELECT 'K15', 'total', 'total', count(*) FILTER (WHERE exit_reason IN ('lack_of_cooperation', 'exclusion')),
           count(*), share(count(*) FILTER (WHERE exit_reason IN ('lack_of_cooperation', 'exclusion')), count(*)), 0
    FROM participants_leaving_outcomes
),
k16 AS (
    SELECT 'K16' AS indicator_id, 'total' AS dimension, 'total' AS category, NULL AS numerator, NULL AS denominator,
           quantile_cont(date_diff('day', h.entry_date, w.first_help_date), 0.5) AS value, 0 AS cat_order
    FROM households_with_counted_help AS w JOIN households_of_period AS h USING (household_id)
),
k17_k18 AS (
    SELECT 'K17' AS indicator_id, 'total' AS dimension, 'total' AS category,
           coalesce(sum(h.capacity_days), 0) AS numerator, any_value(p.place_days) AS denominator,
           share(coalesce(sum(h.capacity_days), 0), any_value(p.place_days)) AS value, 0 AS cat_order
    FROM period_params AS p LEFT JOIN households_of_period AS h ON TRUE
    UNION ALL
    -- average households in care at once ÷ coach FTE
    SELECT 'K18', 'total', 'total', NULL, NULL,
           share(share(coalesce(sum(h.capacity_days), 0), any_value(p.capacity_period_days)),
                 any_value(p.coach_fte)), 0
    FROM period_params AS p LEFT JOIN households_of_period AS h ON TRUE
),
k19_k20_k21 AS (
    SELECT 'K19' AS indicator_id, 'total' AS dimension, 'total' AS category,
           count(*) FILTER (WHERE employability_increased = 'yes') AS numerator,
           count(*) FILTER (WHERE employability_increased IN ('yes', 'no')) AS denominator,
           share(count(*) FILTER (WHERE employability_increased = 'yes'),
                 count(*) FILTER (WHERE employability_increased IN ('yes', 'no'))) AS value, 0 AS cat_order
    FROM participants_leaving_outcomes
    UNION ALL
    SELECT 'K20', 'total', 'total', count(*) FILTER (WHERE is_complete), count(*),
           share(count(*) FILTER (WHERE is_complete), count(*)), 0
    FROM participants_entering_in_period
    UNION ALL
    SELECT 'K21', 'total', 'total', count(*) FILTER (WHERE long_term_benefit_recipient), NULL,
           count(*) FILTER (WHERE long_term_benefit_recipient), 0
    FROM participants_entering_in_period
),
all_rows AS (
    SELECT * FROM k01 UNION ALL SELECT * FROM k02 UNION ALL SELECT * FROM k03_k04 UNION ALL SELECT * FROM k05
    UNION ALL SELECT * FROM k06_k07_k08 UNION ALL SELECT * FROM k09_k10 UNION ALL SELECT * FROM k11_k12
    UNION ALL SELECT * FROM k13 UNION ALL SELECT * FROM k14_k15 UNION ALL SELECT * FROM k16
    UNION ALL SELECT * FROM k17_k18 UNION ALL SELECT * FROM k19_k20_k21
)
SELECT indicator_id::VARCHAR AS indicator_id, dimension::VARCHAR AS dimension, category::VARCHAR AS category,
       numerator::BIGINT AS numerator, denominator::BIGINT AS denominator, value::DOUBLE AS value,
       cat_order::INTEGER AS cat_order
FROM all_rows;
