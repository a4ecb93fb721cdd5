package sip

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// maxDialString bounds numbers and users: E.164 has 15 digits, SIP users
// and extensions are short; a longer one is a mistake or an attack.
const maxDialString = 64

// maxDisplayName bounds display names put into From or To.
const maxDisplayName = 128

// CheckDialString reports whether s may be used as the user part of a SIP
// URI that phoned writes into a header (an extension, a phone number, a
// user): 1 to 64 letters, digits, '-', '.', '_' or '*', optionally after
// one leading '+'. These need no escaping in a URI, so nothing in s can
// end a header, add a parameter or change the host.
func CheckDialString(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrBadDialString)
	}
	if len(s) > maxDialString {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrBadDialString, len(s), maxDialString)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '*':
		case c == '+' && i == 0 && len(s) > 1:
		default:
			return fmt.Errorf("%w: %q at byte %d of %q", ErrBadDialString, rune(c), i, s)
		}
	}
	return nil
}

// CheckDisplayName reports whether s may be written as a quoted display
// name in a From or To header: valid UTF-8 of at most 128 bytes without
// quotes, backslashes, control characters (CR and LF among them) or the
// bidirectional controls that make a caller's name read backwards.
// The empty name is allowed (no display name).
func CheckDisplayName(s string) error {
	if len(s) > maxDisplayName {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrBadDisplayName, len(s), maxDisplayName)
	}
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validRuneAt(s, i):
			return fmt.Errorf("%w: not UTF-8 at byte %d", ErrBadDisplayName, i)
		case r == '"' || r == '\\':
			return fmt.Errorf("%w: %q at byte %d", ErrBadDisplayName, r, i)
		case unicode.IsControl(r), isBidiControl(r), r == '\u2028', r == '\u2029':
			return fmt.Errorf("%w: control character %U at byte %d", ErrBadDisplayName, r, i)
		}
	}
	return nil
}

// validRuneAt tells a real U+FFFD from the RuneError of a bad byte.
func validRuneAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}

// isBidiControl reports the embedding, override and isolate controls
// (U+202A..U+202E, U+2066..U+2069) and the marks (U+200E, U+200F, U+061C).
func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') ||
		r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// hasControl reports whether s has a byte below 0x20 or DEL: what must
// never reach a header value.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
