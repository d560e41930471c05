-- grain: one row per contact dated before its household's Eintritt or after Austritt + 28 days
-- requires: households
SELECT 'contacts' AS table_name, c.file_sha256, c.source_row, 'contact_date' AS column_name,
       strftime(c.contact_date, '%d.%m.%Y') AS value, c.household_id
FROM chk_contacts c JOIN chk_households h ON h.household_id = c.household_id
WHERE c.contact_date < h.entry_date OR c.contact_date > h.exit_date + INTERVAL 28 DAY
