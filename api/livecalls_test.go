package api

import (
	"net/http"
	"testing"
)

// Hold, resume and transfer of a call that still rings: the routes check
// who may act, the body, and the call's state (answered calls are tested
// in switchboard and end to end in cmd/phoned).
func TestHoldAndTransferRefusals(t *testing.T) {
	e := newEnv(t, nil)
	e.withCalls(t)
	live := e.as("alice", "POST", "/api/dial", `{"number": "02 212 34 56", "device": "phone"}`).want(t, http.StatusCreated).obj()
	id, _ := live["id"].(string)
	base := "/api/live-calls/" + id

	for _, action := range []string{"/hold", "/resume", "/transfer"} {
		e.as("bob", "POST", base+action, `{"extension": "103"}`).wantError(t, http.StatusNotFound, "")
		e.do("", "POST", base+action, `{"extension": "103"}`).wantError(t, http.StatusUnauthorized, "")
	}
	e.as("alice", "POST", base+"/hold", nil).wantError(t, http.StatusConflict, "")
	e.as("alice", "POST", base+"/resume", nil).wantError(t, http.StatusConflict, "")
	e.as("sam", "POST", base+"/hold", nil).wantError(t, http.StatusConflict, "")

	for _, tc := range []struct{ body, field string }{
		{`{}`, "extension"},
		{`{"extension": ""}`, "extension"},
		{`{"extension": "102", "number": "+3225556677"}`, "extension"},
		{`{"extension": "999"}`, "extension"},
		{`{"extension": "101"}`, "extension"},
		{`{"extension": "10\r\n2"}`, "extension"},
		{`{"number": ""}`, "number"},
		{`{"number": "+33123456789"}`, "number"},
		{`{"number": "+3222\r\nX: 1"}`, "number"},
	} {
		e.as("alice", "POST", base+"/transfer", tc.body).wantError(t, http.StatusBadRequest, tc.field)
	}
	e.as("alice", "POST", base+"/transfer", `{"extension": "102"}`).wantError(t, http.StatusConflict, "")
	e.as("sam", "POST", base+"/transfer", `{"number": "02 555 66 77"}`).wantError(t, http.StatusConflict, "")
	e.as("alice", "POST", base+"/hangup", nil).want(t, http.StatusNoContent)
	e.as("alice", "POST", base+"/hold", nil).wantError(t, http.StatusNotFound, "")
}
