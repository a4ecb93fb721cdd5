package crm

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestWindowMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		w    Window
		want string
	}{
		{"plain", Window{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{}},
			`{"weekday":"mon","from":"09:00","to":"12:00","valid_from":"","valid_to":""}`},
		{"dates and seconds", Window{time.Sunday, 30, endOfDay, Date{2026, 1, 1}, Date{2026, 6, 30}},
			`{"weekday":"sun","from":"00:00:30","to":"24:00","valid_from":"2026-01-01","valid_to":"2026-06-30"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.w)
			if err != nil || string(got) != tt.want {
				t.Fatalf("Marshal = %s, %v; want %s", got, err, tt.want)
			}
			var back Window
			if err := json.Unmarshal(got, &back); err != nil || back != tt.w {
				t.Fatalf("Unmarshal(%s) = %v, %v; want %v", got, back, err, tt.w)
			}
		})
	}
}

func TestWindowUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      Window
		wantField string // "-" for a FieldError without a field; "" for success
		wantMsg   string
	}{
		{"plain", `{"weekday":"mon","from":"09:00","to":"12:00"}`,
			Window{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{}}, "", ""},
		{"null and empty dates", `{"weekday":"Tuesday","from":"9:00","to":"12:00","valid_from":null,"valid_to":""}`,
			Window{time.Tuesday, hm(9, 0), hm(12, 0), Date{}, Date{}}, "", ""},
		{"dates", `{"weekday":"wed","from":"09:00","to":"12:00","valid_from":"2026-01-01","valid_to":"2026-06-30"}`,
			Window{time.Wednesday, hm(9, 0), hm(12, 0), Date{2026, 1, 1}, Date{2026, 6, 30}}, "", ""},
		{"unknown day", `{"weekday":"xyz","from":"09:00","to":"12:00"}`, Window{}, "weekday", `unknown day "xyz"`},
		{"missing weekday", `{"from":"09:00","to":"12:00"}`, Window{}, "weekday", "required"},
		{"null from", `{"weekday":"mon","from":null,"to":"12:00"}`, Window{}, "from", "required"},
		{"missing to", `{"weekday":"mon","from":"09:00"}`, Window{}, "to", "required"},
		{"number from", `{"weekday":"mon","from":900,"to":"12:00"}`, Window{}, "from", "must be a string"},
		{"bad to", `{"weekday":"mon","from":"09:00","to":"12"}`, Window{}, "to", `"12" is not a time of day (want HH:MM or HH:MM:SS, 00:00 to 24:00)`},
		{"to before from", `{"weekday":"mon","from":"18:00","to":"14:00"}`, Window{}, "to", `14:00 is before "from" 18:00`},
		{"bad date", `{"weekday":"mon","from":"09:00","to":"12:00","valid_to":"2026-02-30"}`, Window{}, "valid_to", `"2026-02-30" is not a date (want YYYY-MM-DD)`},
		{"reversed dates", `{"weekday":"mon","from":"09:00","to":"12:00","valid_from":"2026-06-30","valid_to":"2026-01-01"}`,
			Window{}, "valid_to", `2026-01-01 is before "valid_from" 2026-06-30`},
		{"unknown key", `{"weekday":"mon","from":"09:00","to":"12:00","note":"x"}`, Window{}, "note", "unknown field"},
		{"key in other case", `{"Weekday":"mon","from":"09:00","to":"12:00"}`, Window{}, "Weekday", "unknown field"},
		{"null", `null`, Window{}, "-", ""},
		{"array", `["mon","09:00","12:00"]`, Window{}, "-", ""},
		{"string", `"mon 09:00-12:00"`, Window{}, "-", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Window
			err := got.UnmarshalJSON([]byte(tt.in))
			if tt.wantField == "" {
				if err != nil || got != tt.want {
					t.Fatalf("UnmarshalJSON(%s) = %v, %v; want %v", tt.in, got, err, tt.want)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("UnmarshalJSON(%s) = %v, want a *FieldError", tt.in, err)
			}
			if tt.wantField == "-" {
				if fe.Field != "" || fe.Message == "" {
					t.Fatalf("UnmarshalJSON(%s) = %#v, want a message and no field", tt.in, fe)
				}
				return
			}
			if fe.Field != tt.wantField || fe.Message != tt.wantMsg {
				t.Fatalf("UnmarshalJSON(%s) = %q, want %q", tt.in, err, tt.wantField+": "+tt.wantMsg)
			}
		})
	}
}

// A list of windows decodes through encoding/json and keeps the
// FieldError of the bad element.
func TestWindowsInJSONList(t *testing.T) {
	var ws []Window
	if err := json.Unmarshal([]byte(`[{"weekday":"mon","from":"09:00","to":"12:00"},{"weekday":"sun","from":"00:00","to":"24:00"}]`), &ws); err != nil {
		t.Fatal(err)
	}
	want := []Window{{time.Monday, hm(9, 0), hm(12, 0), Date{}, Date{}}, {time.Sunday, 0, endOfDay, Date{}, Date{}}}
	if !reflect.DeepEqual(ws, want) {
		t.Fatalf("got %v, want %v", ws, want)
	}
	err := json.Unmarshal([]byte(`[{"weekday":"mon","from":"09:00","to":"12:00"},null]`), &ws)
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("null element: got %v, want a *FieldError", err)
	}
}
