-- grain: one row per follow-up whose Person-ID is not an ESF participant with an ESF-Austritt
-- requires: persons
SELECT 'followups' AS table_name, f.file_sha256, f.source_row, 'person_id' AS column_name, f.person_id AS value
FROM chk_followups f
ANTI JOIN (SELECT person_id FROM chk_persons WHERE is_esf_participant AND esf_exit_date IS NOT NULL) p
    ON p.person_id = f.person_id
WHERE f.person_id IS NOT NULL
