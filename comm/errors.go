package comm

// FieldError says which field of an input is wrong and why. Field is the
// field's name in the JSON form of the input ("note", "follow_up.due");
// Message is meant for the client and does not repeat the field.
type FieldError struct {
	Field   string
	Message string
}

// Error returns "field: message", or only the message when Field is empty.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func fieldErr(field, msg string) *FieldError { return &FieldError{Field: field, Message: msg} }
