-- Records: one row per (tenant, kind, id). data is the opaque encoded entity
-- (JSON; money inside it is an exact decimal string, never a float). terms
-- is the record's term list, length-prefixed, so a read needs this row only.
-- stamp is the number of the commit that wrote the row last: a transaction
-- compares it with the stamp it read to tell whether anyone committed the
-- record since, even when it was deleted and created again at the same
-- version.
CREATE TABLE records (
	tenant   TEXT    NOT NULL,
	kind     TEXT    NOT NULL,
	id       BLOB    NOT NULL,
	version  INTEGER NOT NULL,
	stamp    INTEGER NOT NULL,
	sort_key TEXT    NOT NULL,
	terms    BLOB    NOT NULL,
	data     TEXT    NOT NULL,
	PRIMARY KEY (tenant, kind, id)
);

-- Query order without terms: (sort_key, id) within a kind.
CREATE INDEX records_order ON records (tenant, kind, sort_key, id);

-- One row per term of a record, in query order within the term.
CREATE TABLE record_terms (
	tenant   TEXT NOT NULL,
	kind     TEXT NOT NULL,
	term     TEXT NOT NULL,
	sort_key TEXT NOT NULL,
	id       BLOB NOT NULL,
	PRIMARY KEY (tenant, kind, term, sort_key, id)
) WITHOUT ROWID;

-- The journal: seq counts from 1 per tenant in commit order.
CREATE TABLE journal (
	tenant          TEXT    NOT NULL,
	seq             INTEGER NOT NULL,
	kind            TEXT    NOT NULL,
	subject_id      BLOB    NOT NULL,
	subject_version INTEGER NOT NULL,
	actor_id        TEXT    NOT NULL,
	actor_name      TEXT    NOT NULL,
	time            TEXT    NOT NULL,
	type            TEXT    NOT NULL,
	payload         BLOB,
	PRIMARY KEY (tenant, seq)
);

CREATE INDEX journal_subject ON journal (tenant, subject_id, seq);

-- Per-tenant named sequences (NextSeq): the highest value handed out by a
-- committed transaction.
CREATE TABLE sequences (
	tenant TEXT    NOT NULL,
	name   TEXT    NOT NULL,
	value  INTEGER NOT NULL,
	PRIMARY KEY (tenant, name)
) WITHOUT ROWID;

-- Database-wide counters; 'stamp' numbers the commits that write records.
CREATE TABLE counters (
	name  TEXT    NOT NULL PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO counters (name, value) VALUES ('stamp', 0);
