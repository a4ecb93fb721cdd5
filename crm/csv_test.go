package crm

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCSV(t *testing.T) {
	mon := Window{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{}}
	alice := Partner{
		Name: "Alice", Company: "Acme", TZ: "Europe/Brussels", Tags: []string{"Gold", "VIP"},
		Phones: []Phone{
			{"mobile", "+32 470 12 34 56", "+32470123456"},
			{"phone", "02 212 34 56", "+3222123456"},
		},
		Windows: []Window{mon},
	}
	bare := func(name string) Partner {
		return Partner{Name: name, Tags: []string{}, Phones: []Phone{}, Windows: []Window{}}
	}
	withPhones := func(name string, ph ...Phone) Partner {
		p := bare(name)
		p.Phones = ph
		return p
	}
	tests := []struct {
		name string
		in   string
		want []Partner
	}{
		{"all columns", "name,company,tz,tags,phones,call_windows\n" +
			`Alice,Acme,Europe/Brussels,"Gold;VIP","mobile:+32 470 12 34 56; 02 212 34 56",mon 09:00-12:00` + "\n",
			[]Partner{alice}},
		{"header variants and order", "Call Windows , PHONES,Name,company,TZ,tags\r\n" +
			`mon 09:00-12:00,"mobile:+32 470 12 34 56, 02 212 34 56",Alice,Acme,Europe/Brussels,"Gold,VIP,Gold"` + "\r\n",
			[]Partner{alice}},
		{"windows alias", "NAME,Windows\nAlice,mon 09:00-12:00\n",
			[]Partner{func() Partner { p := bare("Alice"); p.Windows = []Window{mon}; return p }()}},
		{"BOM, CRLF, blank lines", "\uFEFFname\r\nAlice\r\n\r\n,\r\nBob\r\n\r\n\r\n",
			[]Partner{bare("Alice"), bare("Bob")}},
		{"semicolon separated", "name;phones\nAlice;+32 2 212 34 56\n",
			[]Partner{withPhones("Alice", Phone{"phone", "+32 2 212 34 56", "+3222123456"})}},
		{"tab separated", "name\tphones\nAlice\t+32 2 212 34 56\n",
			[]Partner{withPhones("Alice", Phone{"phone", "+32 2 212 34 56", "+3222123456"})}},
		{"URIs are not types", "name,phones\n" +
			`Alice,"tel:+3222123456; sip:+3222123457@pbx.example;user=phone;transport=tcp, sip:sip:+3222123458@pbx;lr, mobile:tel:+32470123456"` + "\n",
			[]Partner{withPhones("Alice",
				Phone{"phone", "tel:+3222123456", "+3222123456"},
				Phone{"sip", "sip:+3222123457@pbx.example;user=phone;transport=tcp", "+3222123457"},
				Phone{"sip", "sip:+3222123458@pbx;lr", "+3222123458"},
				Phone{"mobile", "tel:+32470123456", "+32470123456"})}},
		{"typed with spaces", "name,phones\n" + `Alice," Fax : 02 212 34 59 "` + "\n",
			[]Partner{withPhones("Alice", Phone{"fax", "02 212 34 59", "+3222123459"})}},
		{"multi-line quoted cell", "name,call_windows\n\"Alice\",\"mon 09:00-12:00\ntue 09:00-12:00\"\nBob,\n",
			[]Partner{func() Partner {
				p := bare("Alice")
				p.Windows = []Window{mon, {time.Tuesday, hm(9, 0), hm(12, 0), Date{}, Date{}}}
				return p
			}(), bare("Bob")}},
		{"space before quote", "name,company\nAlice, \"Acme, Inc.\"\n",
			[]Partner{func() Partner { p := bare("Alice"); p.Company = "Acme, Inc."; return p }()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tt.in), "BE")
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseCSV() = %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseCSVErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantRows []RowError // nil: a plain error
		wantErr  string     // a part of Error()
	}{
		{"empty file", "", nil, "no rows"},
		{"header only", "name,phones\r\n", nil, "no rows"},
		{"header and blank rows", "name,phones\n,\n\n", nil, "no rows"},
		{"unknown column", "name,email\nAlice,a@b.c\n",
			[]RowError{{Row: 1, Error: `unknown column "email" (want name, company, tz, tags, phones, call_windows)`}}, ""},
		{"no name column", "company\nAcme\n", []RowError{{Row: 1, Error: `no "name" column`}}, ""},
		{"twice", "name,Name\nA,B\n", []RowError{{Row: 1, Error: `column "name" appears twice`}}, ""},
		{"blank header cell", "name,,tz\nA,,\n", []RowError{{Row: 1, Error: "column 2 has no name"}}, ""},
		{"malformed header", "name,\"tz\nA\n", []RowError{{Row: 1, Error: `malformed CSV: extraneous or missing " in quoted-field`}}, ""},
		{"every bad row", "name,phones,call_windows,tz\n" +
			"Alice,abc,,\n" +
			"Bob,+32 2 212 34 56,,\n" +
			"\"Carl\nMulti\",+32 2 212 34 56,tue 18:00-14:00,\n" +
			",+32 2 212 34 56,,\n" +
			"Dora,+32 2 212 34 56,,Mars/Olympus\n" +
			"Ed,\"pager:+32 2 212 34 56\",,\n" +
			"Fay,1,2,3,4\n" +
			"Gus,x\"y,,\n" +
			"Hal,\"+32 2 212 34 56; junk\",,\n",
			[]RowError{
				{Row: 2, Field: "phones[0].number", Error: `"abc" is not a phone number`},
				{Row: 4, Field: "call_windows", Error: `window 1 "tue 18:00-14:00": "to" 14:00 is before "from" 18:00`},
				{Row: 6, Field: "name", Error: "required"},
				{Row: 7, Field: "tz", Error: `unknown time zone "Mars/Olympus" (want an IANA name such as Europe/Brussels)`},
				{Row: 8, Field: "phones[0].type", Error: `unknown type "pager" (want phone, mobile, sip, fax, other)`},
				{Row: 9, Error: "5 cells, the header has 4"},
				{Row: 10, Error: `malformed CSV: bare " in non-quoted-field`},
				{Row: 11, Field: "phones[1].number", Error: `"junk" is not a phone number`},
			}, `8 bad rows: row 2: phones[0].number: "abc" is not a phone number; row 4: call_windows: window 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tt.in), "BE")
			if got != nil || err == nil {
				t.Fatalf("ParseCSV() = %v, %v; want nil and an error", got, err)
			}
			var ie *ImportError
			if tt.wantRows == nil {
				if errors.As(err, &ie) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCSV() error %#v, want a plain error containing %q", err, tt.wantErr)
				}
				return
			}
			if !errors.As(err, &ie) || !reflect.DeepEqual(ie.Rows, tt.wantRows) {
				t.Fatalf("ParseCSV() error %v\n rows %+v\nwant %+v", err, ie, tt.wantRows)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Error() = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseCSVRowCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("name\n")
	for range MaxImportRows {
		b.WriteString("x\n")
	}
	if ps, err := ParseCSV(strings.NewReader(b.String()), "BE"); err != nil || len(ps) != MaxImportRows {
		t.Fatalf("at the cap: %d partners, %v", len(ps), err)
	}
	b.WriteString("x\n")
	if ps, err := ParseCSV(strings.NewReader(b.String()), "BE"); err == nil || ps != nil || !strings.Contains(err.Error(), "too many rows") {
		t.Fatalf("past the cap: %d partners, %v", len(ps), err)
	}
}

func TestImportErrorSummary(t *testing.T) {
	one := &ImportError{Rows: []RowError{{Row: 3, Error: "bad"}}}
	if got, want := one.Error(), "1 bad row: row 3: bad"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	many := &ImportError{Rows: []RowError{{2, "", "a"}, {3, "tz", "b"}, {4, "", "c"}, {5, "", "d"}, {6, "", "e"}}}
	if got, want := many.Error(), "5 bad rows: row 2: a; row 3: tz: b; row 4: c; and 2 more"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
