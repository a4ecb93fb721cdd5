package store

import (
	"context"
	"fmt"
)

// tables are the data model's tables, for TableCounts.
var tables = []string{
	"users", "sessions", "api_tokens", "partners", "contact_mechanisms", "utm_names", "purposes",
	"planner_runs", "rules", "phone_calls", "cases", "comm_events", "comm_event_parties", "comm_event_contacts", "follow_ups",
	"sip_bindings",
}

// TableCounts returns the number of rows of every table: a cheap picture
// of what is stored, to show that a refused request changed nothing.
func (s *Store) TableCounts(ctx context.Context) (map[string]int, error) {
	out := make(map[string]int, len(tables))
	for _, t := range tables {
		var n int
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}
