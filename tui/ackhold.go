package tui

import (
	"context"
	"strconv"

	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/pkg/protocol"
)

// AckHolder is what a ServerControl implements when it can hold the
// answer to an ack request in transit (sio proxy): h on such a request in
// the Traffic log holds its answer, again releases it.
type AckHolder interface {
	// HoldAck holds (hold true) or releases the answer to the ack request
	// traced as tr.
	HoldAck(ctx context.Context, tr protocol.Trace, hold bool) error
}

// toggleHold holds or releases the answer to the selected ack request.
func (m *serverModel) toggleHold() tea.Cmd {
	h, ok := m.ctl.(AckHolder)
	if !ok {
		m.setStatus("holding acks needs sio proxy", true)
		return nil
	}
	e := m.log.selected()
	if e == nil || !e.ackReq || e.pair != 0 {
		m.setStatus("select an ack request still waiting for its answer", true)
		return nil
	}
	if m.held == nil {
		m.held = make(map[ackKey]bool)
	}
	k := e.key()
	hold := !m.held[k]
	m.held[k] = hold
	tr := e.tr
	what := "holding the answer to "
	if !hold {
		what = "released the answer to "
	}
	what += strconv.Quote(e.event) + " #" + strconv.FormatUint(tr.Packet.ID, 10)
	ctx, cancel := m.withTimeout()
	return func() tea.Msg {
		defer cancel()
		return actionDoneMsg{what: what, err: h.HoldAck(ctx, tr, hold)}
	}
}
