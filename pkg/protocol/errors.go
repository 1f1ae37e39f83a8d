package protocol

import (
	"errors"
	"fmt"
)

// SyntaxError reports malformed input and where it was found, in the manner of
// encoding/json.SyntaxError: "invalid packet type '9' at offset 0".
type SyntaxError struct {
	Msg    string // what is wrong, lower case
	Offset int    // byte offset in the input the parser was given
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.Msg, e.Offset)
}

func syntaxErr(off int, format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...), Offset: off}
}

// Sentinel conditions callers branch on with errors.Is. They are wrapped by
// the more precise errors the parsers return.
var (
	// ErrTooManyAttachments means a binary packet announced more attachments
	// than Limits.MaxAttachments (socket.io-parser: "too many attachments").
	ErrTooManyAttachments = errors.New("too many attachments")
	// ErrAttachmentsTooLarge means the attachments of one packet exceed
	// Limits.MaxAttachmentBytes.
	ErrAttachmentsTooLarge = errors.New("attachments too large")
	// ErrUnexpectedBinary is a binary message with no binary packet waiting
	// for attachments.
	ErrUnexpectedBinary = errors.New("got binary data when not reconstructing a packet")
	// ErrUnexpectedText is a text message while attachments are still expected.
	ErrUnexpectedText = errors.New("got plaintext data when reconstructing a packet")
	// ErrNestingTooDeep is a binary packet whose data nests arrays and
	// objects deeper than MaxBinaryNesting (see the package doc).
	ErrNestingTooDeep = errors.New("binary packet nested too deep")
	// ErrInvalidPayload is a packet whose JSON payload is not the shape its
	// type requires (socket.io-parser: "invalid payload").
	ErrInvalidPayload = errors.New("invalid payload")
)

// PayloadError is a packet whose data is well formed but not the shape its
// type requires. It wraps ErrInvalidPayload.
type PayloadError struct {
	Type PacketType
	Msg  string
}

func (e *PayloadError) Error() string {
	return fmt.Sprintf("invalid payload for %s: %s", e.Type, e.Msg)
}

func (e *PayloadError) Unwrap() error { return ErrInvalidPayload }
