package crm

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// hm is a Clock of h hours and m minutes.
func hm(h, m int) Clock { return Clock(h*3600 + m*60) }

func TestWindowValidate(t *testing.T) {
	tests := []struct {
		name      string
		w         Window
		wantField string // "" when valid
	}{
		{"plain", Window{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{}}, ""},
		{"instant", Window{time.Monday, hm(9, 0), hm(9, 0), Date{}, Date{}}, ""},
		{"whole day", Window{time.Sunday, 0, endOfDay, Date{}, Date{}}, ""},
		{"dates", Window{time.Monday, hm(9, 0), hm(12, 0), Date{2026, 1, 1}, Date{2026, 6, 30}}, ""},
		{"one date", Window{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{2026, 6, 30}}, ""},
		{"same dates", Window{time.Monday, hm(9, 0), hm(12, 0), Date{2026, 1, 1}, Date{2026, 1, 1}}, ""},
		{"weekday 7", Window{7, hm(9, 0), hm(12, 0), Date{}, Date{}}, "weekday"},
		{"weekday -1", Window{-1, hm(9, 0), hm(12, 0), Date{}, Date{}}, "weekday"},
		{"to before from", Window{time.Monday, hm(18, 0), hm(14, 0), Date{}, Date{}}, "to"},
		{"from 24:00", Window{time.Monday, endOfDay, endOfDay, Date{}, Date{}}, "from"},
		{"from negative", Window{time.Monday, -1, hm(1, 0), Date{}, Date{}}, "from"},
		{"to past 24:00", Window{time.Monday, 0, endOfDay + 1, Date{}, Date{}}, "to"},
		{"dates reversed", Window{time.Monday, hm(9, 0), hm(12, 0), Date{2026, 6, 30}, Date{2026, 1, 1}}, "valid_to"},
		{"unreal valid_from", Window{time.Monday, hm(9, 0), hm(12, 0), Date{2026, 2, 30}, Date{}}, "valid_from"},
		{"unreal valid_to", Window{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{2026, 13, 1}}, "valid_to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.w.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField || fe.Message == "" {
				t.Fatalf("Validate() = %#v, want a FieldError on %q", err, tt.wantField)
			}
		})
	}
}

func TestParseWindows(t *testing.T) {
	mon := Window{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{}}
	tue := Window{time.Tuesday, hm(14, 0), hm(18, 0), Date{}, Date{}}
	day := func(w Window, d time.Weekday) Window { w.Weekday = d; return w }
	tests := []struct {
		name    string
		in      string
		want    []Window
		wantErr string // a part of the error, "" when none
	}{
		{"empty", "", nil, ""},
		{"only separators", " ; ,\n", nil, ""},
		{"one", "mon 09:00-12:00", []Window{mon}, ""},
		{"two with semicolon", "mon 09:00-12:00; tue 14:00-18:00", []Window{mon, tue}, ""},
		{"comma and newline", "mon 09:00-12:00,\r\ntue 14:00-18:00\n", []Window{mon, tue}, ""},
		{"full names and case", "Monday 9:00-12:00;TUESDAY 14:00-18:00", []Window{mon, tue}, ""},
		{"extra spaces", "  mon \t 09:00-12:00  ;", []Window{mon}, ""},
		{"day range", "mon-fri 09:00-12:00", []Window{mon, day(mon, 2), day(mon, 3), day(mon, 4), day(mon, 5)}, ""},
		{"wrapping range", "sat-mon 09:00-12:00", []Window{day(mon, 6), day(mon, 0), mon}, ""},
		{"one-day range", "mon-mon 09:00-12:00", []Window{mon}, ""},
		{"validity", "mon 09:00-12:00 2026-01-01..2026-06-30",
			[]Window{{time.Monday, hm(9, 0), hm(12, 0), Date{2026, 1, 1}, Date{2026, 6, 30}}}, ""},
		{"open validity end", "mon 09:00-12:00 2026-01-01..",
			[]Window{{time.Monday, hm(9, 0), hm(12, 0), Date{2026, 1, 1}, Date{}}}, ""},
		{"open validity start", "mon 09:00-12:00 ..2026-06-30",
			[]Window{{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{2026, 6, 30}}}, ""},
		{"seconds and 24:00", "sun 23:00:30-24:00", []Window{{time.Sunday, 23*3600 + 30, endOfDay, Date{}, Date{}}}, ""},

		{"to before from", "mon 09:00-12:00; tue 18:00-14:00", nil, `window 2 "tue 18:00-14:00": "to" 14:00 is before "from" 18:00`},
		{"unknown day", "xyz 09:00-12:00", nil, `window 1 "xyz 09:00-12:00": unknown day "xyz"`},
		{"no times", "mon", nil, `window 1 "mon": want`},
		{"too many parts", "mon 09:00-12:00 2026-01-01..2026-02-01 x", nil, "want"},
		{"bad from", "mon 9-12:00", nil, `"from": "9" is not a time of day`},
		{"bad to", "mon 09:00-25:00", nil, `"to": "25:00" is not a time of day`},
		{"no dash", "mon 09:00", nil, `"09:00" is not a time range`},
		{"spaced separators", "mon - wed 09:00 - 12:00 2026-01-01..2026-06-30",
			[]Window{{time.Monday, hm(9, 0), hm(12, 0), Date{2026, 1, 1}, Date{2026, 6, 30}},
				{time.Tuesday, hm(9, 0), hm(12, 0), Date{2026, 1, 1}, Date{2026, 6, 30}},
				{time.Wednesday, hm(9, 0), hm(12, 0), Date{2026, 1, 1}, Date{2026, 6, 30}}}, ""},
		{"two dashes", "mon 09:00-12:00-13:00", nil, `"to": "12:00-13:00" is not a time of day`},
		{"from 24:00", "mon 24:00-24:00", nil, `"from" 24:00 is only allowed as "to"`},
		{"bad range end", "mon-xyz 09:00-12:00", nil, `unknown day "xyz"`},
		{"open day range", "mon-  09:00-12:00", nil, `want "DAY`},
		{"spaced validity", "mon 09:00-12:00 2026-01-01 .. 2026-06-30", nil, `want "DAY`},
		{"bad validity", "mon 09:00-12:00 2026-01-01", nil, "is not a date range"},
		{"unreal date", "mon 09:00-12:00 2026-02-30..", nil, `"valid_from": "2026-02-30" is not a date`},
		{"reversed validity", "mon 09:00-12:00 2026-06-30..2026-01-01", nil, `"valid_to" 2026-01-01 is before "valid_from" 2026-06-30`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWindows(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
					t.Fatalf("ParseWindows(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseWindows(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			again, err := ParseWindows(FormatWindows(got))
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip through %q = %v, %v; want %v", FormatWindows(got), again, err, got)
			}
		})
	}
}

func TestFormatWindows(t *testing.T) {
	mon := Window{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{}}
	day := func(w Window, d time.Weekday) Window { w.Weekday = d; return w }
	valid := Window{time.Friday, hm(9, 0), hm(12, 0), Date{2026, 1, 1}, Date{}}
	tests := []struct {
		name string
		in   []Window
		want string
	}{
		{"nil", nil, ""},
		{"one", []Window{mon}, "mon 09:00-12:00"},
		{"range", []Window{mon, day(mon, 2), day(mon, 3)}, "mon-wed 09:00-12:00"},
		{"not in day order", []Window{day(mon, 3), mon}, "wed 09:00-12:00; mon 09:00-12:00"},
		{"wrap", []Window{day(mon, 6), day(mon, 0)}, "sat-sun 09:00-12:00"},
		{"whole week", []Window{mon, day(mon, 2), day(mon, 3), day(mon, 4), day(mon, 5), day(mon, 6), day(mon, 0)}, "mon-sun 09:00-12:00"},
		{"eight days", []Window{mon, day(mon, 2), day(mon, 3), day(mon, 4), day(mon, 5), day(mon, 6), day(mon, 0), mon},
			"mon-sun 09:00-12:00; mon 09:00-12:00"},
		{"different times break a run", []Window{mon, {time.Tuesday, hm(9, 0), hm(13, 0), Date{}, Date{}}},
			"mon 09:00-12:00; tue 09:00-13:00"},
		{"validity", []Window{valid}, "fri 09:00-12:00 2026-01-01.."},
		{"seconds", []Window{{time.Sunday, 30, endOfDay, Date{}, Date{2026, 3, 1}}}, "sun 00:00:30-24:00 ..2026-03-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FormatWindows(tt.in)
			if got != tt.want {
				t.Fatalf("FormatWindows() = %q, want %q", got, tt.want)
			}
			back, err := ParseWindows(got)
			if err != nil || !reflect.DeepEqual(back, tt.in) {
				t.Fatalf("ParseWindows(%q) = %v, %v; want %v", got, back, err, tt.in)
			}
		})
	}
}
