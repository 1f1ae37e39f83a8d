package replay

import (
	"encoding/json"
	"testing"

	"github.com/sio-dev/sio/internal/render"
)

// TestUpgradedLine reads both forms of the proxy's upgrade line: with the
// transport in its data, and the older one that said it only in reason.
func TestUpgradedLine(t *testing.T) {
	for _, tt := range []struct {
		rec  render.Record
		want bool
	}{
		{render.Record{Data: json.RawMessage(`{"transport":"websocket"}`)}, true},
		{render.Record{Data: json.RawMessage(`{"transport":"polling"}`), Reason: "client: not completed: transport close"}, false},
		{render.Record{Reason: "client: polling → websocket"}, true},
		{render.Record{Reason: "server: not completed: transport close"}, false},
	} {
		if got := upgraded(tt.rec); got != tt.want {
			t.Errorf("upgraded(%+v) = %v, want %v", tt.rec, got, tt.want)
		}
	}
}
