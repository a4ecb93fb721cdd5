package switchboard

import (
	"encoding/json"

	"phoned/media"
)

// legQuality is one leg's RTP counts as an event keeps them.
type legQuality struct {
	PacketsIn   uint64 `json:"packets_in"`
	PacketsOut  uint64 `json:"packets_out"`
	Dropped     uint64 `json:"dropped"`
	Foreign     uint64 `json:"foreign"`
	WriteErrors uint64 `json:"write_errors"`
}

func qualityOf(s media.Stats) legQuality {
	return legQuality{PacketsIn: s.PacketsIn, PacketsOut: s.PacketsOut, Dropped: s.Dropped, Foreign: s.Foreign, WriteErrors: s.WriteErrors}
}

// qualityJSON is the event's audio figures: RTP counted on each leg, the
// remote party's under its name ("caller" or "callee"), the agent's
// device's under "agent".
func qualityJSON(remoteName string, remote, agent media.Stats) json.RawMessage {
	b, _ := json.Marshal(map[string]legQuality{remoteName: qualityOf(remote), "agent": qualityOf(agent)})
	return b
}
