package client

import (
	"errors"
	"testing"

	"github.com/sio-dev/sio/pkg/protocol"
)

// A failed emit is an *EmitError naming the event and namespace, whose
// Err a UI that already shows the event prints alone.
func TestEmitErrorIsTyped(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, _, _ := dialFake(t, f, "http://example.test", testOptions(f))
	for _, tc := range []struct {
		err  error
		want error
	}{
		{c.Emit("connect"), ErrReservedEvent},
		{c.Of("/never").Emit("x"), ErrNotConnected},
	} {
		var ee *EmitError
		if !errors.As(tc.err, &ee) || !errors.Is(tc.err, tc.want) || ee.Err != tc.want || ee.Event == "" || ee.Namespace == "" {
			t.Errorf("%v: want an EmitError wrapping %v", tc.err, tc.want)
		}
	}
}
