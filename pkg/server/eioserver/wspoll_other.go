//go:build !linux

package eioserver

// poller is Linux's epoll set; elsewhere every WebSocket connection has a
// reader goroutine.
type poller struct{}

func newPoller() *poller             { return nil }
func (p *poller) add(*wsReader) bool { return false }
func (p *poller) dispatch(*wsReader) {}
func (p *poller) close()             {}
func (r *wsReader) deregister()      {}
