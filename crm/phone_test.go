package crm

import (
	"reflect"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, region string
		want             string
		wantErr          string // a part of the error, "" when none
	}{
		{"international", "+32 2 212 34 56", "BE", "+3222123456", ""},
		{"international any region", "+32 2 212 34 56", "", "+3222123456", ""},
		{"national", "02 212 34 56", "BE", "+3222123456", ""},
		{"national lower-case region", "02/212.34.56", "be", "+3222123456", ""},
		{"parentheses", "(02) 212-34-56", "BE", "+3222123456", ""},
		{"trunk prefix in brackets", "+32 (0)2 212 34 56", "BE", "+3222123456", ""},
		{"00 prefix", "0032 2 212 34 56", "BE", "+3222123456", ""},
		{"00 prefix where the IDD is 011", "0032 2 212 34 56", "US", "+3222123456", ""},
		{"00 prefix without region", "0032 2 212 34 56", "", "+3222123456", ""},
		{"region IDD 011", "011 32 2 212 3456", "US", "+3222123456", ""},
		{"region IDD 0011", "0011 32 2 212 34 56", "AU", "+3222123456", ""},
		{"tel URI", "tel:+32-2-212-34-56", "BE", "+3222123456", ""},
		{"tel URI with context", "tel:022123456;phone-context=+32", "BE", "+3222123456", ""},
		{"sip URI", "sip:+3222123456@pbx.example;user=phone", "US", "+3222123456", ""},
		{"sip URI upper case", "SIP:+3222123456@pbx.example", "US", "+3222123456", ""},
		{"sips URI national", "sips:022123456@10.0.0.1", "BE", "+3222123456", ""},
		{"sip URI escaped plus", "sip:%2B3222123456@pbx", "US", "+3222123456", ""},
		{"sip header form", `"Alice" <sip:022123456@10.0.0.1>`, "BE", "+3222123456", ""},
		{"quoted", `"+32 2 212 34 56"`, "", "+3222123456", ""},
		{"mobile", "0470 12 34 56", "BE", "+32470123456", ""},
		{"test number", "+32 2 123 45 67", "", "+3221234567", ""},
		{"US fictional", "+1 202 555 0100", "", "+12025550100", ""},
		{"US local only", "+1 555 0100", "", "+15550100", ""},
		{"national US", "(212) 555-1234", "US", "+12125551234", ""},

		{"empty", "", "BE", "", "empty phone number"},
		{"blank", "   ", "BE", "", "empty phone number"},
		{"letters", "abc", "BE", "", `"abc" is not a phone number`},
		{"vanity", "1-800-FLOWERS", "US", "", "is not a phone number"},
		{"extension", "+32 2 212 34 56 ext 12", "BE", "", "is not a phone number"},
		{"newline", "+32 2 212 34 56\n", "BE", "", "control character"},
		{"CR inside", "+32 2\r212 34 56", "BE", "", "control character"},
		{"NUL", "+3222123456\x00", "BE", "", "control character"},
		{"tab", "+32\t2 212 34 56", "BE", "", "control character"},
		{"invalid UTF-8", "+32\xff", "BE", "", "control character"},
		{"escaped newline in URI", "sip:+3222123456%0A@pbx", "BE", "", "is not a phone number"},
		{"plus inside", "32+22123456", "BE", "", "is not a phone number"},
		{"only plus", "+", "BE", "", "is not a phone number"},
		{"only separators", "--", "BE", "", "is not a phone number"},
		{"too short", "12", "BE", "", "not a possible phone number: too short"},
		{"too long", "+32 2 212 34 56 78 90 12", "BE", "", "not a possible phone number"},
		{"unknown country code", "+999 1234 5678", "", "", "not a phone number"},
		{"national without region", "02 212 34 56", "", "", `default region "" is unknown`},
		{"national with bad region", "02 212 34 56", "XX", "", `default region "XX" is unknown`},
		{"sip name", "sip:alice@example.com", "BE", "", "is not a phone number"},
		{"mailto", "mailto:a@b.c", "BE", "", "is not a phone number"},
		{"unclosed angle", "<sip:+3222123456@pbx", "BE", "", "is not a phone number"},
		{"text after angle", "<sip:+3222123456@pbx> x", "BE", "", "is not a phone number"},
		{"huge", "+" + strings.Repeat("1", 300), "BE", "", "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.in, tt.region)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != "" {
					t.Fatalf("NormalizePhone(%q, %q) = %q, %v; want error containing %q", tt.in, tt.region, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizePhone(%q, %q) = %q, %v; want %q", tt.in, tt.region, got, err, tt.want)
			}
			// The E.164 form is a fixed point, and a lookup finds it.
			if again, err := NormalizePhone(got, tt.region); err != nil || again != got {
				t.Errorf("NormalizePhone(%q) = %q, %v; want it unchanged", got, again, err)
			}
			if forms := LookupForms(tt.in, tt.region); len(forms) == 0 || forms[0] != got {
				t.Errorf("LookupForms(%q, %q) = %q; want %q first", tt.in, tt.region, forms, got)
			}
		})
	}
}

func TestLookupForms(t *testing.T) {
	tests := []struct {
		name, in, region string
		want             []string
	}{
		{"international", "+32 2 212 34 56", "BE", []string{"+3222123456"}},
		{"00 prefix", "0032 2 2123456", "BE", []string{"+3222123456"}},
		{"national", "02 212 34 56", "BE", []string{"+3222123456"}},
		{"tel URI", "tel:+3222123456", "BE", []string{"+3222123456"}},
		{"sip URI", "sip:+3222123456@pbx.example;user=phone", "BE", []string{"+3222123456"}},
		{"international without plus", "3222123456", "BE", []string{"+3222123456"}},
		{"international without plus, other region", "3222123456", "US", []string{"+3222123456", "+13222123456"}},
		{"international without plus, no region", "3222123456", "", []string{"+3222123456"}},
		{"quoted header", `"<sip:022123456@10.0.0.1>"`, "BE", []string{"+3222123456"}},
		{"header with name", `"Desk 12" <sip:022123456@10.0.0.1;transport=udp>`, "BE", []string{"+3222123456"}},
		{"national US", "2125551234", "US", []string{"+12125551234"}},

		{"empty", "", "BE", nil},
		{"letters", "anonymous", "BE", nil},
		{"sip name", "sip:anonymous@anonymous.invalid", "BE", nil},
		{"control", "+3222123456\r\n", "BE", nil},
		{"too short", "12", "BE", nil},
		{"national without region", "022123456", "", nil},
		{"unknown country code", "+999 1234 5678", "BE", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LookupForms(tt.in, tt.region)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("LookupForms(%q, %q) = %q, want %q", tt.in, tt.region, got, tt.want)
			}
		})
	}
}

func TestValidRegion(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"BE", true}, {"be", true}, {"US", true}, {"GB", true},
		{"", false}, {"ZZ", false}, {"XX", false}, {"001", false}, {"BEL", false}, {"UK", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ValidRegion(tt.in); got != tt.want {
				t.Fatalf("ValidRegion(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
