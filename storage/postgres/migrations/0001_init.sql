-- Records: one row per (tenant, kind, id). data is the opaque encoded
-- entity (JSON from the collections; money inside it is an exact decimal
-- string, never a float), stored byte for byte. rev changes on every write,
-- from one sequence, so a record deleted and created again at the same
-- version still counts as changed. terms holds the record's index terms,
-- length-prefixed, for reading them back; record_terms is what queries use.
CREATE TABLE records (
	tenant   text   NOT NULL,
	kind     text   NOT NULL,
	id       uuid   NOT NULL,
	version  bigint NOT NULL,
	rev      bigint NOT NULL,
	sort_key bytea  NOT NULL,
	data     bytea  NOT NULL,
	terms    bytea  NOT NULL,
	PRIMARY KEY (tenant, kind, id)
);
-- Query without terms: (sort key, id) order, bytewise, both directions.
CREATE INDEX records_by_sort_key ON records (tenant, kind, sort_key, id);

CREATE SEQUENCE record_revs;

-- One row per term of a record: Query scans one term's range in
-- (sort key, id) order; Lookup takes every row of any of its terms.
CREATE TABLE record_terms (
	tenant   text  NOT NULL,
	kind     text  NOT NULL,
	term     bytea NOT NULL,
	sort_key bytea NOT NULL,
	id       uuid  NOT NULL,
	PRIMARY KEY (tenant, kind, term, sort_key, id)
);

-- The journal. seq counts per tenant from 1 in commit order: a commit
-- takes its numbers from journal_heads, whose row it keeps locked until it
-- has committed, so the next committer of the tenant numbers after it.
CREATE TABLE journal (
	tenant          text        NOT NULL,
	seq             bigint      NOT NULL,
	kind            text        NOT NULL,
	subject_id      uuid        NOT NULL,
	subject_version bigint      NOT NULL,
	actor_id        text        NOT NULL,
	actor_name      text        NOT NULL,
	at              timestamptz NOT NULL,
	at_nanos        integer     NOT NULL, -- nanoseconds below the microsecond
	type            text        NOT NULL,
	payload         bytea,
	PRIMARY KEY (tenant, seq)
);
CREATE INDEX journal_by_subject ON journal (tenant, subject_id, seq);

CREATE TABLE journal_heads (
	tenant text   PRIMARY KEY,
	seq    bigint NOT NULL
);

-- Named per-tenant sequences for reference numbers. Values are handed out
-- by an UPDATE committed on its own, outside any caller's transaction.
CREATE TABLE sequences (
	tenant text   NOT NULL,
	name   text   NOT NULL,
	value  bigint NOT NULL,
	PRIMARY KEY (tenant, name)
);

-- itil_commit_check is the first step of every commit: it takes a
-- transaction-level advisory lock per record the transaction read or
-- wrote, in the order given (ascending keys: no deadlocks), exclusive
-- where it writes and shared where it only read, then raises IT409 when
-- any of those records no longer has the revision the transaction read
-- (0: absent). Raising aborts the rest of the commit's pipeline.
CREATE FUNCTION itil_commit_check(p_tenant text, p_locks bigint[], p_exclusive boolean[],
	p_kinds text[], p_ids uuid[], p_revs bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	bad record;
BEGIN
	-- One statement takes them all, in array order.
	PERFORM CASE WHEN u.x THEN pg_advisory_xact_lock(u.k) ELSE pg_advisory_xact_lock_shared(u.k) END
	FROM unnest(p_locks, p_exclusive) WITH ORDINALITY AS u(k, x, n)
	ORDER BY u.n;
	-- A correlated subquery: one primary-key probe per record, whatever
	-- the planner thinks of the array's size.
	SELECT e.kind, e.id INTO bad
	FROM unnest(p_kinds, p_ids, p_revs) AS e(kind, id, rev)
	WHERE coalesce((SELECT r.rev FROM records r
		WHERE r.tenant = p_tenant AND r.kind = e.kind AND r.id = e.id), 0) <> e.rev
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION '% % was changed by a concurrent transaction after this one read it', bad.kind, bad.id
			USING ERRCODE = 'IT409';
	END IF;
END
$$;

-- itil_check_one is itil_commit_check for a transaction that touched one
-- record (most commands), without arrays.
CREATE FUNCTION itil_check_one(p_tenant text, p_lock bigint, p_exclusive boolean,
	p_kind text, p_id uuid, p_rev bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF p_exclusive THEN
		PERFORM pg_advisory_xact_lock(p_lock);
	ELSE
		PERFORM pg_advisory_xact_lock_shared(p_lock);
	END IF;
	IF coalesce((SELECT r.rev FROM records r
		WHERE r.tenant = p_tenant AND r.kind = p_kind AND r.id = p_id), 0) <> p_rev THEN
		RAISE EXCEPTION '% % was changed by a concurrent transaction after this one read it', p_kind, p_id
			USING ERRCODE = 'IT409';
	END IF;
END
$$;

-- itil_conflict raises IT409 for a commit whose single update found the
-- record changed (see the commit's one-record path).
CREATE FUNCTION itil_conflict(p_kind text, p_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% % was changed by a concurrent transaction after this one read it', p_kind, p_id
		USING ERRCODE = 'IT409';
END
$$;
