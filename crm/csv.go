package crm

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// MaxImportRows is the most data rows one CSV import may hold.
const MaxImportRows = 100_000

// csvColumns are the columns of a partner import, in the order error
// messages list them.
var csvColumns = []string{"name", "company", "tz", "tags", "phones", "call_windows"}

// ParseCSV reads partners from a CSV file, with region as the default
// region of numbers written without a country code.
//
// The first row is a header naming the columns, in any order: name
// (required), company, tz, tags, phones, call_windows (also "windows").
// Names match in any case, trimmed, with spaces and underscores alike
// ("Call Windows"); other names are an error. The cells:
//   - tags: separated by ";" or ",";
//   - phones: entries separated by ";" or ",", each a number or
//     "type:number" ("mobile:+32 470 12 34 56; +32 2 212 34 56"). A tel: or
//     sip: URI is a number, not a type; a sip: one gets the type "sip", and
//     its ";param" parts stay with it;
//   - call_windows: as ParseWindows reads them.
//
// The separator is ",", or ";" or a tab when the header line has one of
// those and no comma. A UTF-8 BOM, CRLF line ends and rows whose cells are
// all blank are accepted; every other row must have as many cells as the
// header. Each partner is Normalize()d.
//
// It returns all partners or none: bad rows, malformed CSV included, give
// an *ImportError listing every bad row with its line in the file (the
// header is line 1; a quoted cell may span lines). A file with no data
// rows, or more than MaxImportRows, is a plain error.
func ParseCSV(r io.Reader, region string) ([]Partner, error) {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\uFEFF")) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = sniffComma(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("no rows")
	}
	if err != nil {
		return nil, csvError(err)
	}
	cols, msg := mapHeader(header)
	if msg != "" {
		line, _ := cr.FieldPos(0)
		return nil, &ImportError{Rows: []RowError{{Row: line, Error: msg}}}
	}
	var ps []Partner
	var bad []RowError
	for n := 0; ; {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if n++; n > MaxImportRows {
			return nil, fmt.Errorf("too many rows: at most %d", MaxImportRows)
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("reading CSV: %w", err)
			}
			bad = append(bad, RowError{Row: pe.StartLine, Error: "malformed CSV: " + pe.Err.Error()})
			continue
		}
		line, _ := cr.FieldPos(0)
		if blankRecord(rec) {
			n--
			continue
		}
		if len(rec) != len(cols) {
			bad = append(bad, RowError{Row: line, Error: fmt.Sprintf("%d cells, the header has %d", len(rec), len(cols))})
			continue
		}
		p, fe := rowPartner(rec, cols, region)
		if fe != nil {
			bad = append(bad, RowError{Row: line, Field: fe.Field, Error: fe.Message})
			continue
		}
		ps = append(ps, p)
	}
	if len(bad) > 0 {
		return nil, &ImportError{Rows: bad}
	}
	if len(ps) == 0 {
		return nil, errors.New("no rows")
	}
	return ps, nil
}

// csvError reports a malformed header line as an ImportError.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ImportError{Rows: []RowError{{Row: pe.StartLine, Error: "malformed CSV: " + pe.Err.Error()}}}
	}
	return fmt.Errorf("reading CSV: %w", err)
}

// sniffComma picks the separator from the first line: "," unless that
// line has no comma but a semicolon or a tab, as spreadsheets write in
// some locales.
func sniffComma(br *bufio.Reader) rune {
	first, _ := br.Peek(4096)
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	switch {
	case bytes.IndexByte(first, ',') >= 0:
		return ','
	case bytes.IndexByte(first, ';') >= 0:
		return ';'
	case bytes.IndexByte(first, '\t') >= 0:
		return '\t'
	}
	return ','
}

// mapHeader returns the column name of each header cell, or why the header
// is wrong.
func mapHeader(header []string) ([]string, string) {
	cols := make([]string, len(header))
	for i, h := range header {
		c := strings.Join(strings.FieldsFunc(strings.ToLower(h), func(r rune) bool {
			return r == ' ' || r == '_' || r == '\t'
		}), "_")
		if c == "windows" {
			c = "call_windows"
		}
		switch {
		case c == "":
			return nil, fmt.Sprintf("column %d has no name", i+1)
		case !slices.Contains(csvColumns, c):
			return nil, fmt.Sprintf("unknown column %q (want %s)", h, strings.Join(csvColumns, ", "))
		case slices.Contains(cols[:i], c):
			return nil, fmt.Sprintf("column %q appears twice", c)
		}
		cols[i] = c
	}
	if !slices.Contains(cols, "name") {
		return nil, `no "name" column`
	}
	return cols, ""
}

// blankRecord reports whether every cell of rec is blank.
func blankRecord(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// rowPartner builds the normalised partner of one record.
func rowPartner(rec, cols []string, region string) (Partner, *FieldError) {
	var p Partner
	for i, c := range cols {
		v := rec[i]
		switch c {
		case "name":
			p.Name = v
		case "company":
			p.Company = v
		case "tz":
			p.TZ = v
		case "tags":
			p.Tags = splitList(v)
		case "phones":
			p.Phones = parsePhones(v)
		case "call_windows":
			ws, err := ParseWindows(v)
			if err != nil {
				return Partner{}, &FieldError{"call_windows", err.Error()}
			}
			p.Windows = ws
		}
	}
	return p.normalized(region)
}

// splitList splits a cell at ";" and ",", trimming the parts and dropping
// empty ones.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parsePhones reads a phones cell. A part that looks like a URI parameter
// ("user=phone", "lr") after a tel: or sip: URI is glued back to it, since
// ";" both separates entries and starts URI parameters.
func parsePhones(s string) []Phone {
	var entries []string
	for _, f := range splitList(s) {
		if k := len(entries) - 1; k >= 0 && isURIParam(f) && isURI(entries[k]) {
			entries[k] += ";" + f
			continue
		}
		entries = append(entries, f)
	}
	phones := make([]Phone, len(entries))
	for i, e := range entries {
		phones[i] = typedPhone(e)
	}
	return phones
}

// typedPhone splits "type:number"; a tel:, sip: or sips: URI is all number.
func typedPhone(e string) Phone {
	prefix, rest, ok := strings.Cut(e, ":")
	t := strings.ToLower(strings.TrimSpace(prefix))
	if !ok || t == "" || strings.ContainsFunc(t, func(r rune) bool { return r < 'a' || r > 'z' }) {
		return Phone{Number: e}
	}
	switch t {
	case "tel":
		return Phone{Number: e}
	case "sip", "sips":
		// "sip:sip:+32...@host" is the type sip and a URI; "sip:+32...@host"
		// is only a URI.
		if r := strings.TrimSpace(rest); hasScheme(r) {
			return Phone{Type: PhoneTypeSIP, Number: r}
		}
		return Phone{Type: PhoneTypeSIP, Number: e}
	}
	return Phone{Type: t, Number: strings.TrimSpace(rest)}
}

// hasScheme reports whether s starts with "tel:", "sip:" or "sips:".
func hasScheme(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "tel:") || strings.HasPrefix(l, "sip:") || strings.HasPrefix(l, "sips:")
}

// isURI reports whether s holds a tel:, sip: or sips: URI anywhere, as in
// "mobile:tel:+32..." or "<sip:022123456@pbx>".
func isURI(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "tel:") || strings.Contains(l, "sip:") || strings.Contains(l, "sips:")
}

// isURIParam reports whether s looks like a URI parameter ("user=phone",
// "lr") rather than a number.
func isURIParam(s string) bool {
	return strings.Contains(s, "=") || strings.EqualFold(s, "lr")
}
