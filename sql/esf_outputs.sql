-- esf_outputs.sql
-- Grain of out_esf_outputs: one row per ESF output indicator (EECO01–EECO17 for ESF+, CO01–CO19 for 2014-20)
-- × gender category (total, women, men, non_binary: ESF+ only), plus one `keine_angabe,total` row for
-- EECO12, EECO14, EECO15, EECO16, CO16 and CO18. Columns as out_project_indicators.
-- Purpose: the common output indicators over COMPLETE participants entering in P (incomplete records count
-- only in K02). Each set counts only the participants whose cycle belongs to its funding period (a range
-- across the change-over reports both); pipeline/indicators.py keeps the sets of the period's funding periods.
-- Reads participants_entering_in_period (populations.sql) and indicator_catalogue (ids, family,
-- reports_non_binary, esf_funding_period), written by pipeline/indicators.py; counts with the table macros
-- esf_flag_counts and esf_count_rows (populations.sql).

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
SELECT person_id, project_cycle, funding_period, gender_category,
       disability = 'not_stated' AS EECO12,
       foreign_background = 'not_stated' AS EECO14,
       minority = 'not_stated' AS EECO15,
       homeless = 'unknown' AS EECO16,
       disability = 'not_stated' AS CO16,
       homeless = 'unknown' AS CO18
FROM participants_entering_in_period
WHERE is_complete;

-- Declined answers per indicator over all gender categories.
CREATE OR REPLACE TEMP VIEW esf_output_not_stated_counts AS
SELECT indicator_id, sum(participants) AS participants
FROM esf_flag_counts('esf_output_not_stated_flags')
GROUP BY indicator_id;

CREATE OR REPLACE TEMP VIEW out_esf_outputs AS
SELECT * FROM esf_count_rows('esf_output_membership_flags', 'esf_output')
UNION ALL
SELECT c.indicator_id, 'keine_angabe', 'total',
       coalesce(k.participants, 0)::BIGINT, NULL::BIGINT, coalesce(k.participants, 0)::DOUBLE, 0
FROM indicator_catalogue AS c
LEFT JOIN esf_output_not_stated_counts AS k USING (indicator_id)
WHERE c.indicator_id IN ('EECO12', 'EECO14', 'EECO15', 'EECO16', 'CO16', 'CO18');
