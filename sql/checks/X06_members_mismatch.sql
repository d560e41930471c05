-- grain: one row per household whose "Personen in BG" differs from its number of persons rows
-- requires: persons
SELECT 'households' AS table_name, h.file_sha256, h.source_row, 'n_members' AS column_name,
       CAST(h.n_members AS VARCHAR) AS value, CAST(coalesce(p.n, 0) AS VARCHAR) AS other_value, h.household_id
FROM chk_households h
LEFT JOIN (SELECT household_id, count(*) AS n FROM chk_persons GROUP BY household_id) p USING (household_id)
WHERE h.n_members IS NOT NULL AND h.n_members <> coalesce(p.n, 0)
