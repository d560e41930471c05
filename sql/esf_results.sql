-- esf_results.sql
-- Grain of out_esf_results: one row per ESF result indicator (EECR01–EECR05 for ESF+, CR01–CR04, CR06 for
-- 2014-20) × gender category (total, women, men, non_binary: ESF+ only). Columns as out_project_indicators.
-- Purpose: the common result indicators over COMPLETE participants leaving in P, by destination upon leaving
-- (populations.sql: destination within 28 days after the ESF exit, otherwise `unbekannt`), and the 6-month
-- follow-up share EECR05/CR06. Each set counts only the participants whose cycle belongs to its funding period.
-- Reads participants_leaving_in_period, followups, period_params and indicator_catalogue; counts with the table
-- macro esf_count_rows (populations.sql).

-- One column per count indicator: does the leaver count in it?
CREATE OR REPLACE TEMP VIEW esf_result_membership_flags AS
WITH flags AS (
    SELECT l.person_id, l.project_cycle, l.funding_period, l.gender_category,
           l.destination_upon_leaving = 'job_seeking'
               AND (NOT p.eecr01_inactive_at_entry_only
                    OR l.employment_status_entry IN ('inactive_education', 'inactive_other')) AS job_seeking_after,
           l.destination_upon_leaving IN ('vocational_training', 'general_school', 'further_training_fbw',
                                          'language_course') AS in_education_after,
           coalesce(l.qualification_gained, FALSE) AS qualification_after,
           l.destination_upon_leaving IN ('employment_svp', 'employment_marginal', 'self_employed',
                                          'participation_16i', 'integration_16e') AS employed_after
    FROM participants_leaving_in_period AS l, period_params AS p
    WHERE l.is_complete
)
SELECT person_id, project_cycle, funding_period, gender_category,
       job_seeking_after AS EECR01, in_education_after AS EECR02, qualification_after AS EECR03,
       employed_after AS EECR04,
       job_seeking_after AS CR01, in_education_after AS CR02, qualification_after AS CR03, employed_after AS CR04
FROM flags;

-- EECR05/CR06 denominator: complete leavers whose exit + 6 calendar months is ≤ the data state (cycle report)
-- or inside P (range report); numerator: of those, reached at exit + 6 months ± 28 days and employed.
CREATE OR REPLACE TEMP VIEW leavers_due_for_followup AS
WITH due AS (
    SELECT l.person_id, l.project_cycle, l.funding_period, l.gender_category, l.esf_exit_date,
           (l.esf_exit_date + INTERVAL 6 MONTH)::DATE AS six_months_after_exit
    FROM participants_leaving_in_period AS l
    WHERE l.is_complete
)
SELECT d.*
FROM due AS d, period_params AS p
WHERE CASE WHEN p.report_kind = 'cycle' THEN d.six_months_after_exit <= p.data_state
           ELSE d.six_months_after_exit BETWEEN p.p_start AND p.p_end END;

CREATE OR REPLACE TEMP VIEW followup_employed_six_months AS
SELECT d.person_id, d.project_cycle, d.funding_period, d.gender_category,
       count(f.person_id) > 0 AS employed_at_six_months
FROM leavers_due_for_followup AS d
LEFT JOIN followups AS f
       ON f.person_id = d.person_id
      AND f.reached
      AND f.survey_date BETWEEN d.six_months_after_exit - 28 AND d.six_months_after_exit + 28
      AND f.employment_status_6m IN ('employed_svp', 'employed_marginal', 'self_employed', 'subsidised_16i_16e')
GROUP BY d.person_id, d.project_cycle, d.funding_period, d.gender_category;

CREATE OR REPLACE TEMP VIEW out_esf_results AS
SELECT * FROM esf_count_rows('esf_result_membership_flags', 'esf_result')
UNION ALL
SELECT c.indicator_id, g.dimension, g.category,
       count(*) FILTER (WHERE f.employed_at_six_months)::BIGINT,
       count(f.person_id)::BIGINT,
       share(count(*) FILTER (WHERE f.employed_at_six_months), count(f.person_id))::DOUBLE,
       g.cat_order::INTEGER
FROM indicator_catalogue AS c
CROSS JOIN esf_gender_categories AS g
LEFT JOIN followup_employed_six_months AS f
       ON f.funding_period = c.esf_funding_period AND (g.dimension = 'total' OR f.gender_category = g.category)
WHERE c.family = 'esf_result' AND c.unit = 'share' AND (g.category <> 'non_binary' OR c.reports_non_binary)
GROUP BY c.indicator_id, g.dimension, g.category, g.cat_order;
