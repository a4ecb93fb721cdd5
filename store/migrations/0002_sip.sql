-- The embedded registrar's bindings (RFC 3261 §10): one row per contact
-- of an extension. received/transport are where the REGISTER came from
-- (what reaches a device behind NAT); call_id/cseq order REGISTERs;
-- expires_at, updated_at in Unix seconds like every time here.
CREATE TABLE sip_bindings (
	id         INTEGER PRIMARY KEY,
	extension  TEXT NOT NULL,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	contact    TEXT NOT NULL,
	received   TEXT NOT NULL DEFAULT '',
	transport  TEXT NOT NULL CHECK (transport IN ('udp', 'tcp', 'tls', 'ws', 'wss')),
	user_agent TEXT NOT NULL DEFAULT '',
	call_id    TEXT NOT NULL,
	cseq       INTEGER NOT NULL CHECK (cseq >= 0),
	expires_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (extension, contact)
) STRICT;
CREATE INDEX sip_bindings_expires ON sip_bindings (expires_at);
CREATE INDEX sip_bindings_user ON sip_bindings (user_id);

-- A user whose extension, SIP password or activity changes loses its
-- registrations: its phones must register again with what is now true,
-- and a deactivated user's phones stop ringing at once.
CREATE TRIGGER sip_bindings_user_changed
AFTER UPDATE OF extension, sip_password, active ON users
WHEN OLD.extension IS NOT NEW.extension OR OLD.sip_password IS NOT NEW.sip_password OR OLD.active IS NOT NEW.active
BEGIN
	DELETE FROM sip_bindings WHERE user_id = NEW.id;
END;
