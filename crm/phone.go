package crm

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// The types of a Phone.
const (
	PhoneTypePhone  = "phone"
	PhoneTypeMobile = "mobile"
	PhoneTypeSIP    = "sip"
	PhoneTypeFax    = "fax"
	PhoneTypeOther  = "other"
)

// phoneTypes is the closed set of Phone types, in the order error messages
// list them.
var phoneTypes = []string{PhoneTypePhone, PhoneTypeMobile, PhoneTypeSIP, PhoneTypeFax, PhoneTypeOther}

// Phone is one phone number of a partner. Type is one of "phone", "mobile",
// "sip", "fax" or "other"; Number is the number as it was typed; E164 is
// its normalised form ("+3222123456"), the one calls dial and reverse
// lookups search. Every stored Phone has an E164, "sip" ones too: a SIP
// address without a phone number in its user part is not a Phone.
type Phone struct {
	Type   string `json:"type"`
	Number string `json:"number"`
	E164   string `json:"e164"`
}

// maxPhoneLen bounds the text of a number, URI forms included.
const maxPhoneLen = 256

// NormalizePhone returns the E.164 form ("+3222123456") of number.
//
// A number may be written with spaces, dots, dashes, slashes and
// parentheses, or as a "tel:" or "sip:"/"sips:" URI (the user part is the
// number; a display name and angle brackets as in a SIP header are
// allowed). A number that starts with "+" carries its country code. One
// that starts with "00" is taken as international even where the region's
// own international prefix is another ("011" in the US), unless that
// prefix matches ("0011 32 ..." in AU). Any other number is national in
// region, an ISO 3166 alpha-2 code such as "BE" (any case).
//
// The result must be a possible number (phonenumbers.IsPossibleNumber:
// right length for its country), not necessarily a valid one (an assigned
// range), so that test numbers such as +32 2 123 45 67 or +1 202 555 0100
// are accepted. Possible includes numbers that are only dialable locally,
// so "+1 555 0100" is accepted as +15550100. The result is a fixed point:
// NormalizePhone of it gives it back, so a number whose digits after the
// country code start with a trunk prefix that phonenumbers would strip on
// the next parse ("+31 0000010") is rejected.
//
// Errors say why: `"abc" is not a phone number`.
func NormalizePhone(number, region string) (string, error) {
	if strings.TrimSpace(number) == "" {
		return "", errors.New("empty phone number")
	}
	if len(number) > maxPhoneLen {
		return "", fmt.Errorf("phone number too long (%d bytes, at most %d)", len(number), maxPhoneLen)
	}
	if hasControl(number) {
		return "", fmt.Errorf("%q contains a control character", number)
	}
	dial, ok := dialString(number)
	if !ok {
		return "", fmt.Errorf("%q is not a phone number", number)
	}
	region = strings.ToUpper(region)
	var n *parsedNumber
	var err error
	switch {
	case strings.HasPrefix(dial, "+"):
		n, err = parseNumber(dial, "")
	case strings.HasPrefix(dial, "00"):
		n, err = parseNumber(dial, region)
		if err != nil || !n.viaIDD {
			n, err = parseNumber("+"+dial[2:], "")
		}
	case !ValidRegion(region):
		return "", fmt.Errorf(`%q has no country code ("+") and the default region %q is unknown`, number, region)
	default:
		n, err = parseNumber(dial, region)
	}
	if err != nil {
		return "", fmt.Errorf("%q is not a phone number: %v", number, err)
	}
	if !n.possible {
		return "", fmt.Errorf("%q is not a possible phone number: %s", number, n.why)
	}
	return n.e164, nil
}

// ValidRegion reports whether region (any case) is a region that
// phonenumbers has metadata for, such as "BE" or "US".
func ValidRegion(region string) bool {
	return phonenumbers.GetSupportedRegions()[strings.ToUpper(region)]
}

// validPhoneType reports whether t is one of the Phone types.
func validPhoneType(t string) bool {
	return slices.Contains(phoneTypes, t)
}

// dialString reduces a number as typed to "+" and digits, or digits only:
// it drops one pair of enclosing double quotes, takes the user part of a
// URI and drops visual separators. It fails on
// anything else, letters included.
func dialString(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' && strings.Count(s, `"`) == 2 {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	s, ok := uriUser(s)
	if !ok {
		return "", false
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')' || r == '/':
		default:
			return "", false
		}
	}
	d := b.String()
	if strings.TrimPrefix(d, "+") == "" {
		return "", false
	}
	return d, true
}

// uriUser returns the user part of a "tel:", "sip:" or "sips:" URI,
// optionally in angle brackets after a display name; other text is
// returned as it is.
func uriUser(s string) (string, bool) {
	if i := strings.IndexByte(s, '<'); i >= 0 {
		j := strings.IndexByte(s[i:], '>')
		if j < 0 || strings.TrimSpace(s[i+j+1:]) != "" {
			return "", false
		}
		s = s[i+1 : i+j]
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return s, true
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		if at := strings.IndexByte(rest, '@'); at >= 0 {
			rest = rest[:at]
		}
		rest, _, _ = strings.Cut(rest, ":") // a password
	case "tel":
		if strings.ContainsRune(rest, '@') {
			return "", false
		}
	default:
		return "", false
	}
	rest, _, _ = strings.Cut(rest, "?") // headers
	rest, _, _ = strings.Cut(rest, ";") // parameters, phone-context
	user, err := url.PathUnescape(rest)
	if err != nil {
		return "", false
	}
	return user, true
}

// hasControl reports whether s holds a control character (CR, LF, TAB,
// NUL, DEL, C1) or is not valid UTF-8.
func hasControl(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl)
}
