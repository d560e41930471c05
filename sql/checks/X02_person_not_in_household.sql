-- grain: one row per contacts/helps row naming a Person-ID that has no persons row in that household
-- requires: persons
SELECT 'contacts' AS table_name, c.file_sha256, c.source_row, 'person_id' AS column_name, c.person_id AS value,
       c.household_id
FROM chk_contacts c ANTI JOIN chk_persons p ON p.person_id = c.person_id AND p.household_id = c.household_id
WHERE c.person_id IS NOT NULL
UNION ALL
SELECT 'helps', x.file_sha256, x.source_row, 'person_id', x.person_id, x.household_id
FROM chk_helps x ANTI JOIN chk_persons p ON p.person_id = x.person_id AND p.household_id = x.household_id
WHERE x.person_id IS NOT NULL
