// Command soak holds a `sio serve --quiet` under the load of real
// applications for minutes: clients that come and go all the time (half
// of them starting on long-polling and upgrading, as browsers do), each
// emitting acked events, and it samples the server process (RSS, open
// files, goroutines, heap) at a fixed interval. It fails when an ack is
// lost, an ack carries other arguments than its event, or a client is
// disconnected by the server. Not part of CI: see scripts/soak.sh and the
// Soak section of BENCHMARKS.md.
//
//	go run ./bench/soak -sio ./sio -clients 2000 -duration 10m
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sio-dev/sio/pkg/client"
)

type config struct {
	sio              string
	clients          int
	duration         time.Duration
	sample           time.Duration
	emitEvery        time.Duration
	minLife, maxLife time.Duration
	upgradeShare     float64
	ackTimeout       time.Duration
	serveArgs        string
}

// counters are the clients' totals, read by the sampler.
type counters struct {
	connects, connectErrors, drops atomic.Int64
	sent, acked, lost, wrong       atomic.Int64
}

func main() {
	var cfg config
	flag.StringVar(&cfg.sio, "sio", "", "the sio binary to run as the server (required)")
	flag.IntVar(&cfg.clients, "clients", 2000, "connections held at any time")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Minute, "how long the load lasts")
	flag.DurationVar(&cfg.sample, "sample", 30*time.Second, "how often the server process is sampled")
	flag.DurationVar(&cfg.emitEvery, "emit-every", time.Second, "mean time between two acked emits of one client")
	flag.DurationVar(&cfg.minLife, "min-life", 5*time.Second, "shortest life of a connection before it disconnects and a new one replaces it")
	flag.DurationVar(&cfg.maxLife, "max-life", time.Minute, "longest life of a connection")
	flag.Float64Var(&cfg.upgradeShare, "upgrade-share", 0.5, "share of connections that start on polling and upgrade (the rest: WebSocket only)")
	flag.DurationVar(&cfg.ackTimeout, "ack-timeout", 10*time.Second, "an ack not received within this time is lost")
	flag.StringVar(&cfg.serveArgs, "serve-args", "--quiet", "extra flags of sio serve")
	flag.Parse()
	if cfg.sio == "" || cfg.clients <= 0 || cfg.minLife <= 0 || cfg.maxLife < cfg.minLife {
		fmt.Fprintln(os.Stderr, "soak: -sio is required; -clients and the lifetimes must be positive (see -h)")
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	const token = "soak"
	args := append([]string{"serve", "--no-tui", "-p", strconv.Itoa(port), "--control-token", token}, strings.Fields(cfg.serveArgs)...)
	srv := exec.Command(cfg.sio, args...)
	srv.Stdout, srv.Stderr = nil, os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	proc := process{pid: srv.Process.Pid, stats: base + "/_sio/stats", token: token}
	if err := proc.waitUp(10 * time.Second); err != nil {
		return err
	}
	fmt.Printf("sio serve %s (pid %d) on %s; %d clients, %.0f%% polling→websocket, lives %v–%v, an acked emit every ~%v, for %v\n",
		strings.Join(args[1:], " "), proc.pid, base, cfg.clients, cfg.upgradeShare*100, cfg.minLife, cfg.maxLife, cfg.emitEvery, cfg.duration)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()

	var c counters
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the first connections over the first seconds.
			if !sleepCtx(ctx, time.Duration(i)*5*time.Millisecond) {
				return
			}
			churn(ctx, cfg, base, i, &c)
		}()
	}

	fmt.Println()
	fmt.Println("| t | RSS MiB | fds | goroutines | heap MiB | sockets | connects | drops | acks sent | acked | lost | wrong |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	sampleNow := func() {
		s := proc.sample()
		fmt.Printf("| %s | %.1f | %d | %d | %.1f | %d | %d | %d | %d | %d | %d | %d |\n",
			time.Since(start).Round(time.Second), float64(s.rss)/(1<<20), s.fds, s.Goroutines, float64(s.HeapBytes)/(1<<20), s.Sockets,
			c.connects.Load(), c.drops.Load(), c.sent.Load(), c.acked.Load(), c.lost.Load(), c.wrong.Load())
	}
	tick := time.NewTicker(cfg.sample)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
loop:
	for {
		select {
		case <-tick.C:
			sampleNow()
		case <-done:
			break loop
		}
	}
	tick.Stop()
	// Every client has left: the server must let go of them.
	idle := time.Now()
	for time.Since(idle) < 10*time.Second && proc.sample().Sockets > 0 {
		time.Sleep(200 * time.Millisecond)
	}
	sampleNow()

	fmt.Printf("\nconnects %d (failed %d), server drops %d, acks sent %d, acked %d, lost %d, wrong %d\n",
		c.connects.Load(), c.connectErrors.Load(), c.drops.Load(), c.sent.Load(), c.acked.Load(), c.lost.Load(), c.wrong.Load())
	var problems []string
	if n := c.lost.Load(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d acks lost", n))
	}
	if n := c.wrong.Load(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d acks with other arguments", n))
	}
	if n := c.drops.Load(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d connections dropped by the server", n))
	}
	if n := c.connectErrors.Load(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d connections failed", n))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, ", "))
	}
	return nil
}

// churn keeps one client slot busy until ctx ends: connect, emit acked
// events for a random life, disconnect, start again.
func churn(ctx context.Context, cfg config, url string, slot int, c *counters) {
	rng := rand.New(rand.NewPCG(uint64(slot), uint64(time.Now().UnixNano())))
	for seq := 0; ctx.Err() == nil; {
		transport := "websocket"
		if rng.Float64() < cfg.upgradeShare {
			transport = "auto"
		}
		life := cfg.minLife + time.Duration(rng.Int64N(int64(cfg.maxLife-cfg.minLife)+1))
		seq = session(ctx, cfg, url, transport, life, slot, seq, rng, c)
	}
}

// session runs one connection; it returns the next sequence number.
func session(ctx context.Context, cfg config, url, transport string, life time.Duration, slot, seq int, rng *rand.Rand, c *counters) int {
	cl, err := client.New(url, client.Options{Transport: transport, NoReconnect: true})
	if err != nil {
		c.connectErrors.Add(1)
		return seq
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err = cl.Connect(cctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			c.connectErrors.Add(1)
			fmt.Fprintf(os.Stderr, "soak: client %d (%s): %v\n", slot, transport, err)
		}
		return seq
	}
	c.connects.Add(1)
	end := time.After(life)
	for {
		wait := time.Duration(rng.Int64N(int64(2 * cfg.emitEvery)))
		select {
		case <-ctx.Done():
			return seq
		case <-end:
			return seq
		case <-cl.Done():
			c.drops.Add(1)
			fmt.Fprintf(os.Stderr, "soak: client %d (%s) dropped: %v\n", slot, transport, cl.Err())
			return seq
		case <-time.After(wait):
		}
		want := fmt.Sprintf("%d-%d", slot, seq)
		seq++
		c.sent.Add(1)
		// The ack wait does not end with the run: an ack in flight at the
		// end must still arrive.
		actx, cancel := context.WithTimeout(context.Background(), cfg.ackTimeout)
		ack, err := cl.EmitWithAck(actx, "soak", want)
		cancel()
		if err != nil {
			c.lost.Add(1)
			fmt.Fprintf(os.Stderr, "soak: client %d (%s): ack of %s: %v\n", slot, transport, want, err)
			continue
		}
		var got string
		if ack.Unmarshal(0, &got) != nil || got != want {
			c.wrong.Add(1)
			continue
		}
		c.acked.Add(1)
	}
}

// process samples the server process from /proc and its control API.
type process struct {
	pid          int
	stats, token string
}

type sample struct {
	rss int64
	fds int
	// From GET /_sio/stats.
	Sockets    int    `json:"sockets"`
	Goroutines int    `json:"goroutines"`
	HeapBytes  uint64 `json:"heap_bytes"`
}

func (p process) waitUp(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if _, err := p.get(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("sio serve did not answer %s within %v: %w", p.stats, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p process) get() (sample, error) {
	var s sample
	req, err := http.NewRequest(http.MethodGet, p.stats, nil)
	if err != nil {
		return s, err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("%s: %s", p.stats, resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

func (p process) sample() sample {
	s, err := p.get()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak: stats:", err)
	}
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid)); err == nil {
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				s.rss = kb << 10
			}
		}
	}
	if fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(p.pid), "fd")); err == nil {
		s.fds = len(fds)
	}
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
