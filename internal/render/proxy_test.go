package render

import (
	"encoding/json"
	"testing"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/proxy"
)

// TestFromProxyEventSession checks that the proxy's session steps use the
// names and data of the same steps on sio serve and the client commands.
func TestFromProxyEventSession(t *testing.T) {
	ev := func(kind proxy.Kind, from proxy.Side, transport, reason string) proxy.Event {
		return proxy.Event{Time: t0, Kind: kind, From: from, SID: "S1", Transport: transport, EIO: protocol.EIO4, Reason: reason, Offset: -1}
	}
	open := ev(proxy.KindOpen, proxy.FromServer, "polling", "client 127.0.0.1:5000")
	open.Client, open.Data = "127.0.0.1:5000", json.RawMessage(`{"sid":"S1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}`)
	const head = `{"time":"2026-11-27T10:00:00.000001Z",`
	for _, tt := range []struct {
		e    proxy.Event
		want string
	}{
		{open, head + `"dir":"out","sid":"S1","transport":"polling","layer":"session","type":"open","data":{"eio":4,"transport":"polling","address":"127.0.0.1:5000"}}`},
		{ev(proxy.KindUpgrade, proxy.FromClient, "websocket", "polling → websocket"),
			head + `"dir":"in","sid":"S1","transport":"websocket","layer":"session","type":"upgrade","data":{"transport":"websocket"}}`},
		{ev(proxy.KindUpgrade, proxy.FromClient, "polling", "not completed: transport close"),
			head + `"dir":"in","sid":"S1","transport":"polling","layer":"session","type":"upgrade","data":{"transport":"polling"},"reason":"client: not completed: transport close"}`},
		{ev(proxy.KindClose, proxy.FromServer, "websocket", "close packet (server closed the session)"),
			head + `"dir":"out","sid":"S1","transport":"websocket","layer":"session","type":"close","reason":"server: close packet (server closed the session)"}`},
		{ev(proxy.KindKill, proxy.FromClient, "websocket", "control API"),
			head + `"dir":"in","sid":"S1","transport":"websocket","layer":"session","type":"kill","reason":"client: control API"}`},
		{ev(proxy.KindError, proxy.FromServer, "polling", "forwarding: EOF"),
			head + `"dir":"out","sid":"S1","transport":"polling","layer":"session","type":"error","reason":"forwarding: EOF"}`},
	} {
		b, err := json.Marshal(FromProxyEvent(tt.e, false))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.e.Kind, b, tt.want)
		}
	}
}
