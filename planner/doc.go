// Package planner owns the call-planning algorithm of phoned: it turns a
// run's times into a grid of slots (Grid), selects the partners a run is
// about (Criteria), and assigns at most one partner per slot following the
// partners' weekly call windows, their call history and the run's repetition
// rule (Run). It works on plain values only: no storage, no clock, no I/O.
//
// The rules are those of shared/planner/SPEC.md. Run's cost grows with
// slots plus partners, not with their product: partners that share a zone
// and a window list are evaluated as one group, availability is turned into
// per-group slot intervals once, and the choice at each slot is made across
// the available groups' best partners with heaps.
package planner
