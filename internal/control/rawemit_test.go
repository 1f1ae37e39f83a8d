package control

import (
	"net/http"
	"testing"

	"github.com/sio-dev/sio/pkg/client"
)

// The control API sends the arguments as the request gave them: an object
// holding binary keeps its key order (it came back sorted when the
// arguments were decoded into Go values and encoded again), with or
// without an ack.
func TestHTTPEmitKeepsArgumentsAsGiven(t *testing.T) {
	f := newFixture(t)
	a, gotA := f.dial("/", client.Options{})
	const args = `[{"z":1,"b":{"$binary":"AQ=="},"a":1.0},"x"]`
	for _, ack := range []string{"", `,"ack":"2s"`} {
		code, body := f.do(http.MethodPost, "/_sio/emit", `{"socket":"`+a.SID()+`","event":"ev","args":`+args+ack+`}`)
		if code != 200 {
			t.Fatalf("emit: %d %v", code, body)
		}
		if got := recv(t, gotA); got != "ev "+args {
			t.Errorf("ack %q: the client got %s, want ev %s", ack, got, args)
		}
	}
	code, body := f.do(http.MethodPost, "/_sio/emit", `{"event":"ev","args":`+args+`}`)
	if code != 200 {
		t.Fatalf("emit to all: %d %v", code, body)
	}
	if got := recv(t, gotA); got != "ev "+args {
		t.Errorf("broadcast: the client got %s", got)
	}
}
