package crm

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPartnerNormalize(t *testing.T) {
	good := func() Partner {
		return Partner{
			Name:    "  Alice Martin ",
			Company: " Acme ",
			TZ:      " Europe/Brussels ",
			Tags:    []string{" Gold", "", "gold", "Gold ", "VIP"},
			Phones: []Phone{
				{Number: " 02 212 34 56 "},
				{Type: " Mobile ", Number: "+32 470 12 34 56"},
				{Type: "sip", Number: "sip:+3222123457@pbx.example"},
			},
			Windows: []Window{{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{}}},
		}
	}
	t.Run("good", func(t *testing.T) {
		p := good()
		if err := p.Normalize("BE"); err != nil {
			t.Fatal(err)
		}
		want := Partner{
			Name:    "Alice Martin",
			Company: "Acme",
			TZ:      "Europe/Brussels",
			Tags:    []string{"Gold", "gold", "VIP"},
			Phones: []Phone{
				{"phone", "02 212 34 56", "+3222123456"},
				{"mobile", "+32 470 12 34 56", "+32470123456"},
				{"sip", "sip:+3222123457@pbx.example", "+3222123457"},
			},
			Windows: []Window{{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{}}},
		}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("got  %+v\nwant %+v", p, want)
		}
	})
	t.Run("nil slices become empty", func(t *testing.T) {
		p := Partner{Name: "Bob"}
		if err := p.Normalize("BE"); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(p)
		if want := `{"id":0,"name":"Bob","company":"","tz":"","tags":[],"phones":[],"call_windows":[]}`; string(b) != want {
			t.Fatalf("JSON %s, want %s", b, want)
		}
	})

	tests := []struct {
		name      string
		edit      func(p *Partner)
		wantField string
		wantMsg   string // a part of the message
	}{
		{"no name", func(p *Partner) { p.Name = " \u00a0 " }, "name", "required"},
		{"control in name", func(p *Partner) { p.Name = "Al\nice" }, "name", "control character"},
		{"name too long", func(p *Partner) { p.Name = strings.Repeat("é", 201) }, "name", "at most 200"},
		{"name of 200 characters", func(p *Partner) { p.Name = strings.Repeat("é", 200) }, "", ""},
		{"invalid UTF-8 company", func(p *Partner) { p.Company = "Ac\xffme" }, "company", "invalid UTF-8"},
		{"unknown zone", func(p *Partner) { p.TZ = "Mars/Olympus" }, "tz", `unknown time zone "Mars/Olympus"`},
		{"Local zone", func(p *Partner) { p.TZ = "Local" }, "tz", "unknown time zone"},
		{"path as zone", func(p *Partner) { p.TZ = "../../etc/passwd" }, "tz", "unknown time zone"},
		{"UTC", func(p *Partner) { p.TZ = "UTC" }, "", ""},
		{"no zone", func(p *Partner) { p.TZ = "" }, "", ""},
		{"long tag", func(p *Partner) { p.Tags = []string{"a", strings.Repeat("t", 65)} }, "tags[1]", "at most 64"},
		{"control in tag", func(p *Partner) { p.Tags = []string{"a\tb"} }, "tags[0]", "control character"},
		{"bad phone type", func(p *Partner) { p.Phones[1].Type = "pager" }, "phones[1].type", `unknown type "pager"`},
		{"bad number", func(p *Partner) { p.Phones[1].Number = "abc" }, "phones[1].number", `"abc" is not a phone number`},
		{"empty number", func(p *Partner) { p.Phones[0].Number = "" }, "phones[0].number", "empty phone number"},
		{"SIP name", func(p *Partner) { p.Phones[2].Number = "sip:alice@pbx" }, "phones[2].number", "not a phone number"},
		{"bad window", func(p *Partner) {
			p.Windows = append(p.Windows, Window{time.Tuesday, hm(18, 0), hm(14, 0), Date{}, Date{}})
		}, "call_windows[1].to", `14:00 is before "from" 18:00`},
		{"bad weekday", func(p *Partner) { p.Windows[0].Weekday = 9 }, "call_windows[0].weekday", "not a day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good()
			tt.edit(&p)
			before := p
			err := p.Normalize("BE")
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Normalize() = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField || !strings.Contains(fe.Message, tt.wantMsg) {
				t.Fatalf("Normalize() = %v, want %s: ...%s...", err, tt.wantField, tt.wantMsg)
			}
			if !reflect.DeepEqual(p, before) {
				t.Fatalf("Normalize changed p on error: %+v", p)
			}
		})
	}
}

func TestNormalizeReturnsNilInterface(t *testing.T) {
	p := Partner{Name: "x"}
	if err := p.Normalize("BE"); err != nil {
		t.Fatalf("Normalize() = %#v, want an untyped nil", err)
	}
}

func TestFieldError(t *testing.T) {
	if got := (&FieldError{"phones[1].number", "bad"}).Error(); got != "phones[1].number: bad" {
		t.Errorf("got %q", got)
	}
	if got := (&FieldError{Message: "bad"}).Error(); got != "bad" {
		t.Errorf("got %q", got)
	}
}

func TestPartnerJSONRoundTrip(t *testing.T) {
	in := `{"id":7,"name":"Alice","company":"Acme","tz":"Europe/Brussels","tags":["Gold"],` +
		`"phones":[{"type":"mobile","number":"+32 470 12 34 56","e164":"+32470123456"}],` +
		`"call_windows":[{"weekday":"mon","from":"09:00","to":"12:00","valid_from":"2026-01-01","valid_to":""}]}`
	var p Partner
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(p)
	if err != nil || string(out) != in {
		t.Fatalf("Marshal = %s, %v\nwant %s", out, err, in)
	}
}
