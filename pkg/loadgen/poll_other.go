//go:build !linux

package loadgen

// Without epoll every connection is served by readLoop on the netpoller.

func (r *runner) startPollers() error { return nil }
func (r *runner) stopPollers()        {}
func (c *client) handOver() bool      { return false }

type poller struct{}

func (r *runner) usePollers() bool { return false }
