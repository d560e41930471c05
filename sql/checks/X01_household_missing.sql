-- grain: one row per persons/contacts/helps row whose BG-ID is not in the households snapshot in force
-- requires: households
SELECT 'persons' AS table_name, p.file_sha256, p.source_row, 'household_id' AS column_name, p.household_id AS value,
       strftime(h0.snapshot_date, '%d.%m.%Y') AS ref_snapshot
FROM chk_persons p CROSS JOIN (SELECT max(snapshot_date) AS snapshot_date FROM chk_households) h0
WHERE p.household_id IS NOT NULL AND p.household_id NOT IN (SELECT household_id FROM chk_households WHERE household_id IS NOT NULL)
UNION ALL
SELECT 'contacts', c.file_sha256, c.source_row, 'household_id', c.household_id, strftime(h0.snapshot_date, '%d.%m.%Y')
FROM chk_contacts c CROSS JOIN (SELECT max(snapshot_date) AS snapshot_date FROM chk_households) h0
WHERE c.household_id IS NOT NULL AND c.household_id NOT IN (SELECT household_id FROM chk_households WHERE household_id IS NOT NULL)
UNION ALL
SELECT 'helps', x.file_sha256, x.source_row, 'household_id', x.household_id, strftime(h0.snapshot_date, '%d.%m.%Y')
FROM chk_helps x CROSS JOIN (SELECT max(snapshot_date) AS snapshot_date FROM chk_households) h0
WHERE x.household_id IS NOT NULL AND x.household_id NOT IN (SELECT household_id FROM chk_households WHERE household_id IS NOT NULL)
