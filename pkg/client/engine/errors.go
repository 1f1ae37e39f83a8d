package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sio-dev/sio/pkg/protocol"
)

var (
	// ErrClosed is returned by Send and Flush once the connection is closing
	// or closed.
	ErrClosed = errors.New("engine.io connection closed")
	// ErrQueueFull is returned by Send when Options.MaxQueue packets are
	// already waiting to be written.
	ErrQueueFull = errors.New("engine.io send queue full")
	// ErrProtocol wraps every violation of the Engine.IO protocol by the
	// server: a bad handshake, an unknown packet type, a malformed payload,
	// a response that is too large.
	ErrProtocol = errors.New("protocol error")
)

// HTTPError is a non-success HTTP answer from the Engine.IO endpoint: a
// polling request that did not get 200, or a WebSocket handshake that did
// not get 101. Body holds the start of the response body.
type HTTPError struct {
	StatusCode int
	Body       string
	URL        string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if b := strings.TrimSpace(e.Body); b != "" {
		if len(b) > 200 {
			b = b[:200] + "…"
		}
		msg += ": " + b
	}
	return msg
}

// EngineError decodes the body as Node's {"code":N,"message":"…"} error
// (PROTOCOL.md §1.10) and reports whether it was one.
func (e *HTTPError) EngineError() (protocol.EngineError, bool) {
	var ee struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(e.Body), &ee) != nil || ee.Code == nil {
		return protocol.EngineError{}, false
	}
	return protocol.EngineError{Code: *ee.Code, Message: ee.Message}, true
}

// isUnsupportedProtocol reports a 400 with code 5, the answer of a server
// that does not speak the requested EIO revision.
func isUnsupportedProtocol(err error) bool {
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest {
		return false
	}
	ee, ok := he.EngineError()
	return ok && ee.Code == protocol.ErrUnsupportedProtocol.Code
}

func protocolErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

func wrapProtocol(err error) error {
	if errors.Is(err, ErrProtocol) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrProtocol, err)
}

// withContext makes a failure caused by ctx match ctx's error with
// errors.Is (a WebSocket dial that hits its deadline reports an i/o
// timeout, not context.DeadlineExceeded).
func withContext(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}
