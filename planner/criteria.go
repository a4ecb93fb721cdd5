package planner

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Criteria select the partners of a run: every given part must match. An
// empty slice or "" means the part is not given; no part given matches all.
type Criteria struct {
	IDs   []int64  // the partner's id is one of these (unknown ids match nothing)
	Tags  []string // the partner has any of these tags (exact match)
	Query string   // case-insensitive substring of the partner's name
}

// Match reports whether p satisfies c.
func (c Criteria) Match(p *Partner) bool {
	m := c.compile()
	return m.matchIDTags(p) && m.matchName(strings.ToLower(p.Name))
}

// matcher is Criteria prepared for matching many partners.
type matcher struct {
	ids   map[int64]struct{} // nil: not given
	tags  map[string]struct{}
	query string // lower-cased; "": not given
}

func (c Criteria) compile() matcher {
	var m matcher
	if len(c.IDs) > 0 {
		m.ids = make(map[int64]struct{}, len(c.IDs))
		for _, id := range c.IDs {
			m.ids[id] = struct{}{}
		}
	}
	if len(c.Tags) > 0 {
		m.tags = make(map[string]struct{}, len(c.Tags))
		for _, tag := range c.Tags {
			m.tags[tag] = struct{}{}
		}
	}
	m.query = strings.ToLower(c.Query)
	return m
}

// matchIDTags checks the parts that do not need the lower-cased name.
func (m *matcher) matchIDTags(p *Partner) bool {
	if m.ids != nil {
		if _, ok := m.ids[p.ID]; !ok {
			return false
		}
	}
	if m.tags != nil {
		for _, tag := range p.Tags {
			if _, ok := m.tags[tag]; ok {
				return true
			}
		}
		return false
	}
	return true
}

func (m *matcher) matchName(lowerName string) bool {
	return m.query == "" || strings.Contains(lowerName, m.query)
}

// appendLower appends strings.ToLower(s) to buf. Run lower-cases every
// candidate's name into one shared buffer instead of allocating a string
// per partner; the result is byte for byte that of strings.ToLower,
// including U+FFFD for each invalid byte.
func appendLower(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			for _, r := range s[i:] {
				buf = utf8.AppendRune(buf, unicode.ToLower(r))
			}
			return buf
		}
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}
