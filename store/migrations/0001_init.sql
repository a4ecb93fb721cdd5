-- phoned's data model. Times are Unix seconds (INTEGER, UTC); local dates
-- are TEXT 'YYYY-MM-DD'; closed sets are TEXT checked here and in Go.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	login         TEXT NOT NULL UNIQUE COLLATE NOCASE,
	name          TEXT NOT NULL DEFAULT '',
	role          TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
	extension     TEXT UNIQUE,              -- NULL: no extension
	tz            TEXT NOT NULL DEFAULT '', -- '': the daemon's default zone
	password_hash TEXT NOT NULL,
	sip_password  TEXT NOT NULL DEFAULT '', -- digest secret of the extension (SIP needs it readable)
	active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	id_hash    BLOB PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY,
	hash         BLOB NOT NULL UNIQUE,
	role         TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
	user_id      INTEGER REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER
) STRICT;

CREATE TABLE partners (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	company    TEXT NOT NULL DEFAULT '',
	tz         TEXT NOT NULL DEFAULT '',
	tags       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)), -- JSON array of strings
	-- The partner's weekly preferred call times, in the partner's zone:
	-- "weekday from to valid_from valid_to" items (weekday 0 = Sunday,
	-- from/to in seconds of the day, dates YYYY-MM-DD or empty) joined by
	-- ";". Windows are always read and written whole with their partner,
	-- and the planner reads 100,000 partners at once: one column, one row.
	call_windows TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

-- Contact mechanisms: phone numbers (with their E.164 form for reverse
-- lookup), SIP addresses, e-mail.
CREATE TABLE contact_mechanisms (
	id         INTEGER PRIMARY KEY,
	partner_id INTEGER NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
	position   INTEGER NOT NULL,
	type       TEXT NOT NULL CHECK (type IN ('phone', 'mobile', 'sip', 'fax', 'other', 'email')),
	value      TEXT NOT NULL,
	e164       TEXT NOT NULL DEFAULT '',
	UNIQUE (partner_id, position)
) STRICT;
CREATE INDEX contact_mechanisms_e164 ON contact_mechanisms (e164) WHERE e164 <> '';

CREATE TABLE utm_names (
	kind TEXT NOT NULL CHECK (kind IN ('campaign', 'source', 'medium')),
	name TEXT NOT NULL,
	PRIMARY KEY (kind, name)
) STRICT;

CREATE TABLE purposes (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE COLLATE NOCASE
) STRICT;

CREATE TABLE planner_runs (
	id                INTEGER PRIMARY KEY,
	requester_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
	requester_token   INTEGER REFERENCES api_tokens (id) ON DELETE SET NULL,
	user_id           INTEGER NOT NULL REFERENCES users (id),
	params            TEXT NOT NULL CHECK (json_valid(params)),
	slots             INTEGER NOT NULL,
	calls             INTEGER NOT NULL,
	skipped_no_window INTEGER NOT NULL,
	skipped_no_phone  INTEGER NOT NULL,
	created_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE rules (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	definition TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(definition)),
	active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	created_at INTEGER NOT NULL
) STRICT;

-- Phone calls as activities: planned, done or cancelled.
CREATE TABLE phone_calls (
	id               INTEGER PRIMARY KEY,
	partner_id       INTEGER NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
	contact_id       INTEGER REFERENCES contact_mechanisms (id) ON DELETE SET NULL,
	phone            TEXT NOT NULL DEFAULT '', -- E.164 at planning time
	user_id          INTEGER NOT NULL REFERENCES users (id),
	due              INTEGER NOT NULL,
	summary          TEXT NOT NULL,
	description      TEXT NOT NULL DEFAULT '',
	tags             TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
	purpose_id       INTEGER REFERENCES purposes (id),
	campaign         TEXT NOT NULL DEFAULT '',
	source           TEXT NOT NULL DEFAULT '',
	medium           TEXT NOT NULL DEFAULT '',
	duration_minutes INTEGER NOT NULL DEFAULT 0,
	priority         INTEGER NOT NULL DEFAULT 0,
	state            TEXT NOT NULL CHECK (state IN ('planned', 'done', 'cancelled')),
	origin           TEXT NOT NULL CHECK (origin IN ('manual', 'planner', 'rule')),
	run_id           INTEGER REFERENCES planner_runs (id) ON DELETE SET NULL,
	rule_id          INTEGER REFERENCES rules (id) ON DELETE SET NULL,
	created_at       INTEGER NOT NULL,
	done_at          INTEGER
) STRICT;
-- The planner reads a combination's counting calls; the queue reads a user's day.
CREATE INDEX phone_calls_combination ON phone_calls (campaign, source, medium, partner_id, due) WHERE state <> 'cancelled';
CREATE INDEX phone_calls_user_due ON phone_calls (user_id, due);
CREATE INDEX phone_calls_partner ON phone_calls (partner_id, due);
CREATE INDEX phone_calls_run ON phone_calls (run_id);

CREATE TABLE cases (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	partner_id INTEGER REFERENCES partners (id) ON DELETE SET NULL,
	reference  TEXT NOT NULL DEFAULT '',
	start_at   INTEGER,
	end_at     INTEGER,
	status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed'))
) STRICT;

CREATE TABLE comm_events (
	id          INTEGER PRIMARY KEY,
	type        TEXT NOT NULL DEFAULT 'phone' CHECK (type IN ('phone', 'email', 'meeting', 'other')),
	direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
	case_id     INTEGER REFERENCES cases (id) ON DELETE SET NULL,
	activity_id INTEGER REFERENCES phone_calls (id) ON DELETE SET NULL,
	reference   TEXT NOT NULL DEFAULT '',
	user_id     INTEGER REFERENCES users (id) ON DELETE SET NULL, -- the employee party
	start_at    INTEGER,
	end_at      INTEGER,
	answered_at INTEGER,
	purpose_id  INTEGER REFERENCES purposes (id),
	note        TEXT NOT NULL DEFAULT '',
	state       TEXT NOT NULL CHECK (state IN ('scheduled', 'in_progress', 'completed')),
	outcome     TEXT NOT NULL DEFAULT '' CHECK (outcome IN ('', 'answered', 'no_answer', 'busy', 'rejected',
	                'missed', 'failed', 'transferred', 'forwarded', 'interrupted')),
	sip_call_id TEXT NOT NULL DEFAULT '',
	from_number TEXT NOT NULL DEFAULT '',
	to_number   TEXT NOT NULL DEFAULT '',
	target      TEXT NOT NULL DEFAULT '', -- transfer or forward target
	sip_status  INTEGER NOT NULL DEFAULT 0,
	hangup_by   TEXT NOT NULL DEFAULT '',
	quality     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(quality)),
	created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX comm_events_user ON comm_events (user_id, start_at);
CREATE INDEX comm_events_state ON comm_events (state) WHERE state = 'in_progress';
CREATE INDEX comm_events_call_id ON comm_events (sip_call_id) WHERE sip_call_id <> '';

-- The partners taking part in an event (the employee is comm_events.user_id).
CREATE TABLE comm_event_parties (
	event_id   INTEGER NOT NULL REFERENCES comm_events (id) ON DELETE CASCADE,
	partner_id INTEGER NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
	PRIMARY KEY (event_id, partner_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX comm_event_parties_partner ON comm_event_parties (partner_id);

CREATE TABLE comm_event_contacts (
	event_id   INTEGER NOT NULL REFERENCES comm_events (id) ON DELETE CASCADE,
	contact_id INTEGER NOT NULL REFERENCES contact_mechanisms (id) ON DELETE CASCADE,
	PRIMARY KEY (event_id, contact_id)
) STRICT, WITHOUT ROWID;

-- Follow-ups (work efforts) of an event: possibly a new call or event.
CREATE TABLE follow_ups (
	id            INTEGER PRIMARY KEY,
	event_id      INTEGER NOT NULL REFERENCES comm_events (id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	state         TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'cancelled')),
	activity_id   INTEGER REFERENCES phone_calls (id) ON DELETE SET NULL,
	next_event_id INTEGER REFERENCES comm_events (id) ON DELETE SET NULL,
	created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX follow_ups_event ON follow_ups (event_id);
