package planner

import (
	"strings"
	"testing"
)

func TestCriteriaMatch(t *testing.T) {
	gold := &Partner{ID: 7, Name: "Émile Zola & Co", Tags: []string{"Gold", "Press"}}
	tests := []struct {
		name     string
		criteria Criteria
		want     bool
	}{
		{"nothing given matches all", Criteria{}, true},
		{"empty slices and query are not given", Criteria{IDs: []int64{}, Tags: []string{}, Query: ""}, true},
		{"ids: one of", Criteria{IDs: []int64{3, 7}}, true},
		{"ids: unknown ids match nothing", Criteria{IDs: []int64{999}}, false},
		{"tags: has any", Criteria{Tags: []string{"Silver", "Press"}}, true},
		{"tags: exact match, case counts", Criteria{Tags: []string{"gold"}}, false},
		{"tags: none of them", Criteria{Tags: []string{"Silver"}}, false},
		{"query: case-insensitive substring", Criteria{Query: "zOLA"}, true},
		{"query: case-insensitive beyond ASCII", Criteria{Query: "ÉMILE"}, true},
		{"query: not a substring", Criteria{Query: "zolaa"}, false},
		{"all given parts must match: all do", Criteria{IDs: []int64{7}, Tags: []string{"Gold"}, Query: "co"}, true},
		{"all given parts must match: id fails", Criteria{IDs: []int64{8}, Tags: []string{"Gold"}, Query: "co"}, false},
		{"all given parts must match: tag fails", Criteria{IDs: []int64{7}, Tags: []string{"Silver"}, Query: "co"}, false},
		{"all given parts must match: query fails", Criteria{IDs: []int64{7}, Tags: []string{"Gold"}, Query: "xyz"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.criteria.Match(gold); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("tags: a partner without tags matches no tag", func(t *testing.T) {
		if (Criteria{Tags: []string{"Gold"}}).Match(&Partner{ID: 1}) {
			t.Error("matched")
		}
	})
}

// TestAppendLower: Run's shared-buffer lower-casing must give exactly
// strings.ToLower, on which candidate order is defined.
func TestAppendLower(t *testing.T) {
	for _, s := range []string{
		"", "abc", "ABC", "Émile", "ÅNGSTRÖM", "İstanbul", "ΣΊΣΥΦΟΣ", "\xffbad\xfe",
		"mixed ASCII then Ü", "\uFFFD real replacement", "Straße", "ǅ titlecase",
	} {
		if got, want := string(appendLower([]byte("prefix"), s)), "prefix"+strings.ToLower(s); got != want {
			t.Errorf("appendLower(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzAppendLower(f *testing.F) {
	f.Add("Émile")
	f.Add("\xffA")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendLower(nil, s)), strings.ToLower(s); got != want {
			t.Errorf("appendLower(%q) = %q, want %q", s, got, want)
		}
	})
}
