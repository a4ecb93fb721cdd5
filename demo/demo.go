// Package demo seeds a phoned database with demo users, partners and a
// planned day, for `phoned serve --demo`: something to click through on a
// fresh machine. Without a PBX, its Carrier stands in for one: calls to
// outside numbers reach a simulated party that answers and echoes.
package demo

import (
	"context"
	"fmt"
	"time"

	"phoned/api"
	"phoned/auth"
	"phoned/comm"
	"phoned/crm"
	"phoned/queue"
	"phoned/store"
)

// Login is one demo user's credentials, printed at start.
type Login struct {
	Login, Password, Role, Extension, SIPPassword string
}

// Logins are the demo users. The passwords are public: demo mode is for
// trying phoned on one's own machine, never for a server others reach.
var Logins = []Login{
	{"admin", "demo-admin", "admin", "", ""},
	{"sam", "demo-sam", "supervisor", "", ""},
	{"alice", "demo-alice", "agent", "101", "secret101"},
	{"bob", "demo-bob", "agent", "102", "secret102"},
}

// Planner runs the planner as the API does (api.Server.RunPlanner).
type Planner interface {
	RunPlanner(ctx context.Context, p auth.Principal, req api.PlannerRequest) (*api.PlannerResponse, error)
}

// Seed fills an empty database (no users) with the demo users, partners
// and purposes. It reports whether it seeded anything.
func Seed(ctx context.Context, st *store.Store, region string) (bool, error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	for _, l := range Logins {
		nu := store.NewUser{
			User:         auth.User{Login: l.Login, Name: displayName(l.Login), Role: auth.Role(l.Role), Extension: l.Extension, Active: true},
			PasswordHash: auth.HashPassword(l.Password),
			SIPPassword:  l.SIPPassword,
		}
		if err := st.CreateUser(ctx, &nu); err != nil {
			return false, fmt.Errorf("seed demo user %s: %w", l.Login, err)
		}
	}
	for _, name := range []string{"Renewal", "Survey", "Follow-up", "Welcome call"} {
		if err := st.CreatePurpose(ctx, &comm.Purpose{Name: name}); err != nil {
			return false, fmt.Errorf("seed demo purpose %s: %w", name, err)
		}
	}
	ps, err := partners(region)
	if err != nil {
		return false, err
	}
	if err := st.CreatePartners(ctx, ps); err != nil {
		return false, fmt.Errorf("seed demo partners: %w", err)
	}
	return true, nil
}

// PlanToday gives each demo agent whose queue is empty today a planned
// day, through the planner: 08:00 to 18:00 every 20 minutes, each partner
// at most once a week across both agents.
func PlanToday(ctx context.Context, st *store.Store, pl Planner, now time.Time, zone *time.Location) (int, error) {
	admin, err := st.UserByLogin(ctx, "admin")
	if err != nil {
		return 0, fmt.Errorf("demo admin: %w", err)
	}
	day, _ := queue.Day(now, zone)
	date := day.Format("2006-01-02")
	gap := 7
	total := 0
	for _, l := range Logins {
		if l.Role != "agent" {
			continue
		}
		u, err := st.UserByLogin(ctx, l.Login)
		if err != nil {
			return total, fmt.Errorf("demo agent %s: %w", l.Login, err)
		}
		calls, err := queue.Today(ctx, st, u.ID, now, zone)
		if err != nil {
			return total, err
		}
		if len(calls) > 0 {
			continue
		}
		dur := 20
		start, end := date+"T08:00", date+"T18:00"
		res, err := pl.RunPlanner(ctx, auth.Principal{Role: auth.RoleAdmin, User: admin}, api.PlannerRequest{
			Summary: "Check in with the customer", User: l.Login, Purpose: "Follow-up", Tags: []string{"demo"},
			Campaign: "Winter check-in", Start: &start, End: &end, TZ: zone.String(), DurationMinutes: &dur,
			Repeat: &api.Repeat{DaysGap: &gap},
		})
		if err != nil {
			return total, fmt.Errorf("plan demo day of %s: %w", l.Login, err)
		}
		total += len(res.Calls)
	}
	return total, nil
}

func displayName(login string) string {
	switch login {
	case "admin":
		return "Administrator"
	case "sam":
		return "Sam Supervisor"
	case "alice":
		return "Alice Agent"
	case "bob":
		return "Bob Agent"
	}
	return login
}

// partners builds the ~50 demo partners: several countries and zones,
// office-hours windows, a few available every day (so today's queue fills
// on any weekday), and a few lacking a window or a number.
func partners(region string) ([]*crm.Partner, error) {
	type country struct {
		zone   string
		format string // fmt pattern of a number, given a serial
	}
	countries := []country{
		{"Europe/Brussels", "+32 2 %03d %02d %02d"},
		{"Europe/Paris", "+33 1 %02d %02d %02d %02d"},
		{"Europe/Amsterdam", "+31 20 %03d %04d"},
		{"Europe/Berlin", "+49 30 %04d%04d"},
		{"America/New_York", "+1 212 555 01%02d"},
		{"Europe/London", "+44 20 7946 0%03d"},
	}
	windowSets := []string{
		"mon-fri 09:00-12:00; mon-fri 14:00-17:00",
		"mon-sun 08:00-20:00",
		"tue 10:00-16:00; thu 10:00-16:00",
		"mon-fri 08:30-18:30",
		"mon-sun 09:00-19:00",
	}
	companies := []string{"Acme Corp", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises", "Soylent", "Vandelay Industries", "Wonka"}
	var out []*crm.Partner
	for i, name := range names {
		c := countries[i%len(countries)]
		var number string
		switch i % len(countries) {
		case 0:
			number = fmt.Sprintf(c.format, 200+i, 10+i%80, 20+i%70)
		case 1:
			number = fmt.Sprintf(c.format, 40+i%50, 10+i%80, 20+i%70, 30+i%60)
		case 2:
			number = fmt.Sprintf(c.format, 500+i, 1000+i)
		case 3:
			number = fmt.Sprintf(c.format, 2000+i, 3000+i)
		default:
			number = fmt.Sprintf(c.format, i%100)
		}
		p := &crm.Partner{Name: name, Company: companies[i%len(companies)], TZ: c.zone}
		if i%7 == 0 {
			p.Tags = []string{"Gold"}
		} else if i%3 == 0 {
			p.Tags = []string{"Silver"}
		}
		if i != 47 { // one partner without a number
			p.Phones = []crm.Phone{{Type: "phone", Number: number}}
			if i%4 == 0 {
				p.Phones = append(p.Phones, crm.Phone{Type: "mobile", Number: fmt.Sprintf("+32 470 %02d %02d %02d", i%90+10, 12, 34)})
			}
		}
		if i != 48 { // one partner without a window
			ws, err := crm.ParseWindows(windowSets[i%len(windowSets)])
			if err != nil {
				return nil, fmt.Errorf("demo windows of %s: %w", name, err)
			}
			p.Windows = ws
		}
		if err := p.Normalize(region); err != nil {
			return nil, fmt.Errorf("demo partner %s: %w", name, err)
		}
		out = append(out, p)
	}
	return out, nil
}

var names = []string{
	"Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth",
	"Margaret Hamilton", "Ken Thompson", "Frances Allen", "Dennis Ritchie", "Radia Perlman", "John McCarthy",
	"Hedy Lamarr", "Tim Berners-Lee", "Katherine Johnson", "Linus Torvalds", "Sophie Wilson", "Niklaus Wirth",
	"Anita Borg", "Bjarne Stroustrup", "Shafi Goldwasser", "Leslie Lamport", "Adele Goldberg", "Vint Cerf",
	"Jean Sammet", "Robert Kahn", "Mary Allen Wilkes", "Whitfield Diffie", "Karen Spärck Jones", "Martin Hellman",
	"Evelyn Boyd Granville", "Ivan Sutherland", "Carol Shaw", "Butler Lampson", "Lynn Conway", "Tony Hoare",
	"Elizabeth Feinler", "Ward Cunningham", "Annie Easley", "Rob Pike", "Dorothy Vaughan", "Guido van Rossum",
	"Kathleen Booth", "Ole-Johan Dahl", "Joan Clarke", "Kristen Nygaard", "Mary Kenneth Keller", "Peter Naur",
	"Ida Rhodes", "Éric Lévénez",
}
