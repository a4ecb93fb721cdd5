package media

// Direction is an SDP stream direction (RFC 3264 §5.1). In a Description it
// is the peer's view; in Negotiated and on a Leg it is ours: SendOnly means
// we send to that leg's peer and ignore what it sends.
type Direction uint8

// The directions. DirectionUnknown is the zero value.
const (
	DirectionUnknown Direction = iota
	SendRecv
	SendOnly
	RecvOnly
	Inactive
)

// String returns the SDP attribute name ("sendrecv", ...).
func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	default:
		return "unknown"
	}
}

// parseDirection maps an SDP attribute key to a Direction.
func parseDirection(key string) (Direction, bool) {
	switch key {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	}
	return DirectionUnknown, false
}

// Sends reports whether the direction includes sending.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the direction includes receiving.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

// Reverse is the same stream seen from the other end: sendonly becomes
// recvonly and the other way round.
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

// OnHold reports whether d, as a peer's direction, means it holds the call
// (it no longer wants to receive).
func (d Direction) OnHold() bool { return d == SendOnly || d == Inactive }

// intersect keeps only what both directions allow.
func (d Direction) intersect(o Direction) Direction {
	return makeDirection(d.Sends() && o.Sends(), d.Receives() && o.Receives())
}

func makeDirection(send, recv bool) Direction {
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	}
	return Inactive
}

// orDefault treats an unset direction as sendrecv, the SDP default.
func (d Direction) orDefault() Direction {
	if d == DirectionUnknown {
		return SendRecv
	}
	return d
}
