//go:build linux && sio_nouring

package loadgen

// Built without io_uring: the event loops write with write(2).

type pollRing struct{}

func (p *poller) setupRing()         {}
func (p *poller) ringUsed() bool     { return false }
func (p *poller) ringUp() bool       { return false }
func (p *poller) closeRing()         {}
func (p *poller) sendRing([]*client) {}
