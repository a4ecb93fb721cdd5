package crm

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"
)

// The committed corpus under testdata/fuzz/ holds the inputs that found
// bugs and a few awkward ones; the seeds below are the ordinary forms.

func FuzzParseWindows(f *testing.F) {
	for _, s := range []string{
		"", "mon 09:00-12:00", "mon 09:00-12:00; tue 14:00-18:00", "mon-fri 9:00-12:00",
		"sat-mon 00:00-24:00", "mon 09:00-12:00 2026-01-01..2026-06-30", "sun 23:59:59-24:00 ..2026-02-28",
		"tue 18:00-14:00", "mon - wed 09:00 - 12:00,\nthu 1:00-2:00 2024-02-29..",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ws, err := ParseWindows(s)
		if err != nil {
			if ws != nil {
				t.Fatalf("ParseWindows(%q) returned windows and error %v", s, err)
			}
			return
		}
		for _, w := range ws {
			if err := w.Validate(); err != nil {
				t.Fatalf("ParseWindows(%q) gave invalid window %v: %v", s, w, err)
			}
		}
		text := FormatWindows(ws)
		back, err := ParseWindows(text)
		if err != nil || !reflect.DeepEqual(back, ws) {
			t.Fatalf("ParseWindows(%q) = %v; FormatWindows = %q; parsed back = %v, %v", s, ws, text, back, err)
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range [][2]string{
		{"+32 2 212 34 56", "BE"}, {"02 212 34 56", "BE"}, {"0032 2 212 34 56", "US"}, {"011 32 2 212 3456", "US"},
		{"tel:+32-2-212-34-56", ""}, {"sip:+3222123456@pbx.example;user=phone", "BE"}, {`"A" <sip:022123456@h>`, "be"},
		{"+1 555 0100", "US"}, {"abc", "BE"}, {"+7 8 800 555 35 35", "RU"}, {"+39 06 1234 5678", "IT"}, {"0", "XX"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, number, region string) {
		e, err := NormalizePhone(number, region)
		if err != nil {
			if e != "" || err.Error() == "" {
				t.Fatalf("NormalizePhone(%q, %q) = %q, %v", number, region, e, err)
			}
			return
		}
		if !isE164(e) {
			t.Fatalf("NormalizePhone(%q, %q) = %q, not E.164", number, region, e)
		}
		if again, err := NormalizePhone(e, region); err != nil || again != e {
			t.Fatalf("NormalizePhone(%q) = %q, %v; want it unchanged (from %q)", e, again, err, number)
		}
		if forms := LookupForms(number, region); !slices.Contains(forms, e) {
			t.Fatalf("LookupForms(%q, %q) = %q, lacks %q", number, region, forms, e)
		}
	})
}

func FuzzLookupForms(f *testing.F) {
	for _, s := range [][2]string{
		{"+32 2 212 34 56", "BE"}, {"0032 2 2123456", "BE"}, {"02 212 34 56", "BE"}, {"tel:+3222123456", ""},
		{"sip:+3222123456@pbx.example;user=phone", "BE"}, {"3222123456", "US"}, {`"<sip:022123456@10.0.0.1>"`, "BE"},
		{"anonymous", "BE"}, {"sip:%2B3222123456@h", "XX"}, {"0011 32 2 212 34 56", "AU"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		forms := LookupForms(raw, region)
		if forms != nil && len(forms) == 0 {
			t.Fatalf("LookupForms(%q, %q) = empty non-nil slice", raw, region)
		}
		for i, e := range forms {
			if !isE164(e) || slices.Contains(forms[:i], e) {
				t.Fatalf("LookupForms(%q, %q) = %q: %q is not E.164 or repeated", raw, region, forms, e)
			}
		}
	})
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		"name,company,tz,tags,phones,call_windows\nAlice,Acme,Europe/Brussels,Gold;VIP,\"mobile:+32 470 12 34 56; 02 212 34 56\",mon 09:00-12:00\n",
		"\uFEFFname;phones\r\nAlice;sip:+3222123456@pbx;user=phone\r\n\r\n",
		"name,phones\nAlice,abc\nBob,\"x\"y\n,\n",
		"name\tcall windows\n\"A\nB\"\tmon-fri 9:00-12:00 2026-01-01..\n",
		"", "name\n", "email\nx\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseCSV(bytes.NewReader(data), "BE")
		if err != nil {
			if ps != nil {
				t.Fatalf("ParseCSV returned %d partners and error %v", len(ps), err)
			}
			var ie *ImportError
			if errors.As(err, &ie) {
				if len(ie.Rows) == 0 {
					t.Fatalf("ImportError with no rows")
				}
				for _, r := range ie.Rows {
					if r.Row < 1 || r.Error == "" {
						t.Fatalf("bad RowError %+v", r)
					}
				}
			}
			return
		}
		if len(ps) == 0 {
			t.Fatal("ParseCSV returned no partners and no error")
		}
		for _, p := range ps {
			if p.Name == "" || p.Tags == nil || p.Phones == nil || p.Windows == nil {
				t.Fatalf("partner not normalised: %+v", p)
			}
			for _, ph := range p.Phones {
				if !isE164(ph.E164) || !validPhoneType(ph.Type) {
					t.Fatalf("phone not normalised: %+v", ph)
				}
			}
		}
	})
}
