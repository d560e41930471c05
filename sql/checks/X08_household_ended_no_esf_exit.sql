-- grain: one row per ESF participant without ESF-Austritt whose household has ended (status not aktiv)
-- requires: households
SELECT 'persons' AS table_name, p.file_sha256, p.source_row, 'esf_exit_date' AS column_name, p.person_id AS value,
       p.household_id, coalesce(l.label, h.status) AS other_value
FROM chk_persons p JOIN chk_households h ON h.household_id = p.household_id
LEFT JOIN ref_labels l ON l.list_name = 'household_status' AND l.code = h.status
WHERE p.is_esf_participant AND p.esf_exit_date IS NULL AND h.status IS NOT NULL AND h.status <> 'active'
