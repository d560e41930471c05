-- esf_outputs.sql
-- Grain of out_esf_outputs: one row per ESF output indicator (EECO01–EECO17 for ESF+, CO01–CO19 for 2014-20)
-- × gender category (total, women, men, non_binary: ESF+ only), plus one `keine_angabe,total` row for
-- EECO12, EECO14, EECO15, EECO16, CO16 and CO18. Columns as out_project_indicators.
-- Purpose: the common output indicators over COMPLETE participants entering in P (incomplete records count
-- only in K02). Each set counts only the participants whose cycle belongs to its funding period (a range
-- across the change-over reports both); pipeline/indicators.py keeps the sets of the period's funding periods.
-- Reads participants_entering_in_period (populations.sql) and indicator_catalogue (ids, family,
-- reports_non_binary, esf_funding_period), written by pipeline/indicators.py.

-- One column per indicator: does the participant count in it?
CREATE OR REPLACE TEMP VIEW esf_output_membership_flags AS
SELECT person_id, project_cycle, funding_period, gender_category,
       TRUE AS EECO01,
       employment_status_entry = 'unemployed' AS EECO02,
       is_long_term_unemployed AS EECO03,
       employment_status_entry IN ('inactive_education', 'inactive_other') AS EECO04,
       employment_status_entry IN ('employed', 'marginally_employed', 'self_employed') AS EECO05,
       age_at_entry < 18 AS EECO06,
       age_at_entry BETWEEN 18 AND 29 AS EECO07,
       age_at_entry >= 55 AS EECO08,
       isced_group = '0-2' AS EECO09,
       isced_group = '3-4' AS EECO10,
       isced_group = '5-8' AS EECO11,
       disability = 'yes' AS EECO12,
       is_third_country AS EECO13,
       foreign_background = 'yes' AS EECO14,
       minority = 'yes' AS EECO15,
       homeless = 'yes' AS EECO16,
       is_rural AS EECO17,
       employment_status_entry = 'unemployed' AS CO01,
       is_long_term_unemployed AS CO02,
       employment_status_entry IN ('inactive_education', 'inactive_other') AS CO03,
       employment_status_entry = 'inactive_other' AS CO04,
       employment_status_entry IN ('employed', 'marginally_employed', 'self_employed') AS CO05,
       age_at_entry < 25 AS CO06,
       age_at_entry > 54 AS CO07,
       isced_group = '0-2' AS CO09,
       isced_group = '3-4' AS CO10,
       isced_group = '5-8' AS CO11,
       (is_third_country OR foreign_background = 'yes' OR minority = 'yes') AS CO15,
       disability = 'yes' AS CO16,
       homeless = 'yes' AS CO18,
       is_rural AS CO19
FROM participants_entering_in_period
WHERE is_complete;

-- Sensitive answers declined (`keine Angabe`; homeless: `unbekannt`): reported beside the indicator.
CREATE OR REPLACE TEMP VIEW esf_output_not_stated_flags AS
SELECT person_id, project_cycle, funding_period,
       disability = 'not_stated' AS EECO12,
       foreign_background = 'not_stated' AS EECO14,
       minority = 'not_stated' AS EECO15,
       homeless = 'unknown' AS EECO16,
       disability = 'not_stated' AS CO16,
       homeless = 'unknown' AS CO18
FROM participants_entering_in_period
WHERE is_complete;

-- Count first (one row per funding period × gender category, one column per indicator), then unpivot those few
-- rows: unpivoting every participant first made ~30 rows per participant for the join and the count.
CREATE OR REPLACE TEMP VIEW esf_output_counts AS
WITH per_group AS (
    SELECT funding_period, gender_category,
           count_if(COLUMNS(* EXCLUDE (person_id, project_cycle, funding_period, gender_category))) AS "\0"
    FROM esf_output_membership_flags
    GROUP BY funding_period, gender_category
)
SELECT u.indicator_id, u.gender_category, sum(u.participants) AS participants
FROM (UNPIVOT per_group
      ON COLUMNS(* EXCLUDE (funding_period, gender_category))
      INTO NAME indicator_id VALUE participants) AS u
JOIN indicator_catalogue AS c ON c.indicator_id = u.indicator_id AND c.esf_funding_period = u.funding_period
GROUP BY u.indicator_id, u.gender_category;

CREATE OR REPLACE TEMP VIEW esf_output_not_stated_counts AS
WITH per_period AS (
    SELECT funding_period, count_if(COLUMNS(* EXCLUDE (person_id, project_cycle, funding_period))) AS "\0"
    FROM esf_output_not_stated_flags
    GROUP BY funding_period
)
SELECT u.indicator_id, sum(u.participants) AS participants
FROM (UNPIVOT per_period
      ON COLUMNS(* EXCLUDE (funding_period))
      INTO NAME indicator_id VALUE participants) AS u
JOIN indicator_catalogue AS c ON c.indicator_id = u.indicator_id AND c.esf_funding_period = u.funding_period
GROUP BY u.indicator_id;

CREATE OR REPLACE TEMP VIEW out_esf_outputs AS
SELECT c.indicator_id, g.dimension, g.category,
       coalesce(sum(k.participants), 0)::BIGINT AS numerator, NULL::BIGINT AS denominator,
       coalesce(sum(k.participants), 0)::DOUBLE AS value, g.cat_order::INTEGER AS cat_order
FROM indicator_catalogue AS c
CROSS JOIN esf_gender_categories AS g
LEFT JOIN esf_output_counts AS k
       ON k.indicator_id = c.indicator_id AND (g.dimension = 'total' OR k.gender_category = g.category)
WHERE c.family = 'esf_output' AND (g.category <> 'non_binary' OR c.reports_non_binary)
GROUP BY c.indicator_id, g.dimension, g.category, g.cat_order
UNION ALL
SELECT c.indicator_id, 'keine_angabe', 'total',
       coalesce(k.participants, 0)::BIGINT, NULL::BIGINT, coalesce(k.participants, 0)::DOUBLE, 0
FROM indicator_catalogue AS c
LEFT JOIN esf_output_not_stated_counts AS k USING (indicator_id)
WHERE c.indicator_id IN ('EECO12', 'EECO14', 'EECO15', 'EECO16', 'CO16', 'CO18');
