-- Refs: the other subjects a journal event concerns besides the record it
-- is about. journal.refs keeps them for reading the event back, in order,
-- as concatenated 16-byte IDs (NULL: none; bytea rather than uuid[] so
-- that a commit of several events passes them as one bytea[]).
-- journal_refs holds one row per ref, so that a query by subject finds the
-- events that refer to it through an index, as journal_by_subject finds
-- the subject's own; the query merges both in seq order. An event never
-- refers to its own subject, nor to one subject twice, so each event is
-- found once.
ALTER TABLE journal ADD COLUMN refs bytea;

CREATE TABLE journal_refs (
	tenant     text   NOT NULL,
	subject_id uuid   NOT NULL,
	seq        bigint NOT NULL,
	PRIMARY KEY (tenant, subject_id, seq)
);
