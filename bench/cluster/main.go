// Command cluster measures a broadcast through a Redis-backed Socket.IO
// cluster (BENCHMARKS.md, "Cluster"): two server nodes on one
// redis-server, N clients spread over both in one room, and a sender on
// the first node whose events the servers relay to the room (sio serve
// --rooms --broadcast, or bench/cluster/node.mjs, the same handlers on
// socket.io 4.8.4 with @socket.io/redis-adapter 8.3). It prints one JSON
// line: deliveries, the servers' CPU per delivery (from /proc/PID/stat)
// and the end-to-end latency percentiles, on the sender's node and on the
// other one.
//
//	go build -o /tmp/perf/sio ./cmd/sio
//	go run ./bench/cluster -server sio   # or -server node
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-dev/sio/pkg/client"
)

func main() {
	kind := flag.String("server", "sio", "the nodes: sio (sio serve --redis) or node (socket.io 4.8.4 + @socket.io/redis-adapter)")
	sioBin := flag.String("sio", "/tmp/perf/sio", "the sio binary")
	clients := flag.Int("clients", 1000, "receivers, half on each node")
	messages := flag.Int("messages", 200, "broadcasts measured")
	interval := flag.Duration("interval", 20*time.Millisecond, "time between broadcasts")
	flag.Parse()
	if err := run(*kind, *sioBin, *clients, *messages, *interval); err != nil {
		fmt.Fprintln(os.Stderr, "bench/cluster:", err)
		os.Exit(1)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitPort waits until something accepts on port.
func waitPort(port int) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %d after 30s", port)
}

// proc is a child process whose CPU time is read from /proc.
type proc struct{ cmd *exec.Cmd }

func start(name string, args ...string) (*proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &proc{cmd}, nil
}

func (p *proc) stop() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// cpu is the process's user+system time.
func (p *proc) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // CLK_TCK on Linux
	return time.Duration(ut+st) * time.Second / hz
}

type result struct {
	Server            string  `json:"server"`
	Clients           int     `json:"clients"`
	Messages          int     `json:"messages"`
	Deliveries        int64   `json:"deliveries"`
	Missing           int64   `json:"missing"`
	CPUPerDeliveryUS  float64 `json:"server_cpu_us_per_delivery"` // both nodes
	SenderNodeUS      float64 `json:"sender_node_cpu_us_per_delivery"`
	OtherNodeUS       float64 `json:"other_node_cpu_us_per_delivery"`
	RedisUS           float64 `json:"redis_cpu_us_per_delivery"`
	P50LocalMS        float64 `json:"p50_local_ms"`
	P99LocalMS        float64 `json:"p99_local_ms"`
	P50RemoteMS       float64 `json:"p50_remote_ms"`
	P99RemoteMS       float64 `json:"p99_remote_ms"`
	P50MS             float64 `json:"p50_ms"`
	P99MS             float64 `json:"p99_ms"`
	ReceiverProcessUS float64 `json:"bench_process_cpu_us_per_delivery"`
}

func run(kind, sioBin string, n, messages int, interval time.Duration) error {
	rport, err := freePort()
	if err != nil {
		return err
	}
	redis, err := start("redis-server", "--port", strconv.Itoa(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err != nil {
		return err
	}
	defer redis.stop()
	if err := waitPort(rport); err != nil {
		return err
	}
	redisURL := fmt.Sprintf("redis://127.0.0.1:%d", rport)
	var nodes [2]*proc
	var urls [2]string
	_, self, _, _ := runtime.Caller(0)
	for i := range nodes {
		port, err := freePort()
		if err != nil {
			return err
		}
		switch kind {
		case "sio":
			nodes[i], err = start(sioBin, "serve", "--no-tui", "--quiet", "-p", strconv.Itoa(port), "--rooms", "--broadcast", "--redis", redisURL)
		case "node":
			nodes[i], err = start("node", filepath.Join(filepath.Dir(self), "node.mjs"), "--port", strconv.Itoa(port), "--redis", redisURL)
		default:
			return fmt.Errorf("-server %q: sio or node", kind)
		}
		if err != nil {
			return err
		}
		defer nodes[i].stop()
		if err := waitPort(port); err != nil {
			return err
		}
		urls[i] = fmt.Sprintf("http://127.0.0.1:%d/", port)
	}

	// Receivers: latencies in µs by node, deliveries counted.
	var (
		mu        sync.Mutex
		lat       [2][]float64
		delivered atomic.Int64
		measuring atomic.Bool
		warm      atomic.Int64
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var conns []*client.Client
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	join := func(c *client.Client) error {
		_, err := c.EmitWithAck(ctx, "join", "r")
		return err
	}
	for i := range n {
		node := i % 2
		c, err := client.New(urls[node], client.Options{})
		if err != nil {
			return err
		}
		c.On("tick", func(e *client.Event) {
			var sent int64
			if len(e.Args) < 2 || json.Unmarshal(e.Args[1], &sent) != nil {
				return
			}
			if !measuring.Load() {
				warm.Add(1)
				return
			}
			d := float64(time.Now().UnixNano()-sent) / 1e3
			mu.Lock()
			lat[node] = append(lat[node], d)
			mu.Unlock()
			delivered.Add(1)
		})
		if err := c.Connect(ctx); err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		conns = append(conns, c)
		if err := join(c); err != nil {
			return err
		}
	}
	sender, err := client.Dial(ctx, urls[0], client.Options{})
	if err != nil {
		return err
	}
	conns = append(conns, sender)
	if err := join(sender); err != nil {
		return err
	}
	// Warm up until one broadcast reaches every receiver: every node's
	// room subscription is in place.
	for warm.Load() < int64(n) {
		warm.Store(0)
		if err := sender.Emit("tick", -1, time.Now().UnixNano()); err != nil {
			return err
		}
		deadline := time.Now().Add(5 * time.Second)
		for warm.Load() < int64(n) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond) // the warm-up's stragglers
	measuring.Store(true)
	c0 := [3]time.Duration{nodes[0].cpu(), nodes[1].cpu(), redis.cpu()}
	var self0 = selfCPU()
	tick := time.NewTicker(interval)
	for seq := range messages {
		<-tick.C
		if err := sender.Emit("tick", seq, time.Now().UnixNano()); err != nil {
			return err
		}
	}
	tick.Stop()
	want := int64(n * messages)
	deadline := time.Now().Add(30 * time.Second)
	for delivered.Load() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c1 := [3]time.Duration{nodes[0].cpu(), nodes[1].cpu(), redis.cpu()}
	self1 := selfCPU()
	got := delivered.Load()
	if got == 0 {
		return errors.New("no delivery")
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(got) }
	mu.Lock()
	defer mu.Unlock()
	all := append(slices.Clone(lat[0]), lat[1]...)
	r := result{
		Server: kind, Clients: n, Messages: messages, Deliveries: got, Missing: want - got,
		CPUPerDeliveryUS:  per(c1[0] - c0[0] + c1[1] - c0[1]),
		SenderNodeUS:      per(c1[0] - c0[0]),
		OtherNodeUS:       per(c1[1] - c0[1]),
		RedisUS:           per(c1[2] - c0[2]),
		P50LocalMS:        pct(lat[0], 50),
		P99LocalMS:        pct(lat[0], 99),
		P50RemoteMS:       pct(lat[1], 50),
		P99RemoteMS:       pct(lat[1], 99),
		P50MS:             pct(all, 50),
		P99MS:             pct(all, 99),
		ReceiverProcessUS: per(self1 - self0),
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	return nil
}

// pct is the p-th percentile of µs values, in ms.
func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i] / 1e3
}

func selfCPU() time.Duration {
	p := &proc{cmd: &exec.Cmd{Process: &os.Process{Pid: os.Getpid()}}}
	return p.cpu()
}
