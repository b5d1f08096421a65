-- Refs: the other subjects a journal event concerns besides the record it
-- is about. journal.refs keeps them for reading the event back, in order,
-- as concatenated 16-byte IDs (NULL: none). journal_refs holds one row per
-- ref, so that a query by subject finds the events that refer to it
-- through an index, as journal_subject finds the subject's own; the query
-- merges both in seq order. An event never refers to its own subject, nor
-- to one subject twice, so each event is found once.
ALTER TABLE journal ADD COLUMN refs BLOB;

CREATE TABLE journal_refs (
	tenant     TEXT    NOT NULL,
	subject_id BLOB    NOT NULL,
	seq        INTEGER NOT NULL,
	PRIMARY KEY (tenant, subject_id, seq)
) WITHOUT ROWID;
