-- grain: one row per persons row sharing name hash and birth date with a row of another Person-ID
SELECT 'persons' AS table_name, p.file_sha256, p.source_row, 'person_id' AS column_name, p.person_id AS value,
       string_agg(DISTINCT q.person_id, ', ' ORDER BY q.person_id) AS other_value, left(p.name_hash, 12) AS name_hash
FROM chk_persons p
JOIN chk_persons q ON q.name_hash = p.name_hash AND q.birth_date = p.birth_date AND q.person_id <> p.person_id
WHERE p.name_hash IS NOT NULL AND p.birth_date IS NOT NULL
GROUP BY ALL
