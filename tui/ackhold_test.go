package tui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/pkg/protocol"
)

// holdingServer is a fake control that can hold acks, as sio proxy's.
type holdingServer struct {
	*fakeServer
	mu    sync.Mutex
	holds []string
}

func (h *holdingServer) HoldAck(_ context.Context, tr protocol.Trace, hold bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	verb := "release"
	if hold {
		verb = "hold"
	}
	h.holds = append(h.holds, verb+" "+tr.EngineSID+" "+tr.Packet.Namespace+" "+strings.TrimSpace(tr.Dir.String()))
	return nil
}

// h on a pending ack request holds its answer through the control, again
// releases it; a dashboard whose control cannot hold says so.
func TestHoldAck(t *testing.T) {
	t.Parallel()
	h := &holdingServer{fakeServer: testServerFake()}
	m := newServerModel(t.Context(), NewCommon(false, 80, 24), ServerOptions{Control: h, Addr: "http://127.0.0.1:3000/socket.io/", Now: func() time.Time { return t0 }, Location: time.UTC}, nil)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	req := event(protocol.In, "sockA-111111111111", "/", `["slow"]`, 4, true, time.Second)
	req.EngineSID = "eioA"
	m.Update(traces(req))
	press(t, m, "3")
	press(t, m, "h")
	press(t, m, "h")
	if got := strings.Join(h.holds, "; "); !strings.HasPrefix(got, "hold eioA / ") || !strings.Contains(got, "; release eioA / ") {
		t.Errorf("holds %q", got)
	}
	if !strings.Contains(m.status, `released the answer to "slow" #4`) {
		t.Errorf("status %q", m.status)
	}
	m2 := newTestServer(t, testServerFake())
	m2.Update(traces(req))
	press(t, m2, "3")
	press(t, m2, "h")
	if !m2.statusErr || !strings.Contains(m2.status, "needs sio proxy") {
		t.Errorf("status %q", m2.status)
	}
}
