-- grain: one row per persons row whose ESF-Eintritt lies before its household's Eintritt
-- requires: households
SELECT 'persons' AS table_name, p.file_sha256, p.source_row, 'esf_entry_date' AS column_name,
       strftime(p.esf_entry_date, '%d.%m.%Y') AS value, strftime(h.entry_date, '%d.%m.%Y') AS other_value,
       p.household_id
FROM chk_persons p JOIN chk_households h ON h.household_id = p.household_id
WHERE p.esf_entry_date < h.entry_date
