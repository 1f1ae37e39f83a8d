// Command compare measures `sio serve` against the Node socket.io 4.8.4
// reference server (bench/node/server.mjs) with identical `sio bench` runs,
// as PERF.md describes: each server pinned to one core, the load generator
// to another, peers interleaved, several repetitions, medians and ratios.
// Server CPU comes from /proc/PID/stat (utime+stime), memory from
// /proc/PID/status (VmRSS). Linux only. bench/compare.sh builds sio and
// runs it; see BENCHMARKS.md for what it printed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type config struct {
	sio, nodeDir, goserver  string
	sioBase                 string // another sio binary measured with --quiet next to sio: before/after
	servers                 []string
	reps                    int
	duration                time.Duration
	serverCore, loadCore    string
	scenarios               []string
	sioArgs                 []string
	scale                   int
	scaleKinds              []string
	verbose                 bool
	echoClients, fanClients int
	// p99: Node's saturation (median round trips/s of ack -c 50 at
	// --rate 0) and the per-client rate that gives half of it in total.
	p99Sat, p99Rate float64
}

// scenario is one comparison: the handlers each server needs and the load.
type scenario struct {
	name      string
	nodeFlags []string
	sioFlags  []string
	bench     func(c *config) []string
	idle      int // > 0: hold this many idle connections and measure memory
	opsName   string
	// side, if set, is a second `sio bench` run at the same time as bench,
	// on the same core (upgrade: the upgrading clients); the ops are
	// bench's, the server CPU is all of it.
	side func(c *config) []string
	// halfNode: the load's rate is half of Node's saturation, measured
	// first in the same run (p99).
	halfNode bool
}

// The upgrade scenario's two loads.
const (
	upgradeEmitters  = 1000
	upgradeUpgraders = 10000
	upgradeRamp      = 20 * time.Second
	p99Clients       = 50
)

// idleSources spreads the idle connections over four source addresses:
// from one address the loader's kernel spends most of its time looking
// for a free ephemeral port once ~10,000 are taken (perf of sio bench at
// 19,000 connections: __inet_check_established 59 %, __inet_hash_connect
// 11 %), which capped every server near 2,000–2,900 connections/s.
const idleSources = "127.0.0.1-127.0.0.4"

func scenarios(c *config) []scenario {
	d := c.duration.String()
	return []scenario{
		{name: "echo", nodeFlags: []string{"--echo"}, sioFlags: []string{"--echo"}, opsName: "round trips",
			bench: func(c *config) []string {
				return []string{"-s", "echo", "-c", strconv.Itoa(c.echoClients), "-d", d}
			}},
		{name: "ack", opsName: "round trips",
			bench: func(c *config) []string {
				return []string{"-s", "ack", "-c", strconv.Itoa(c.echoClients), "-d", d}
			}},
		{name: "fanout", nodeFlags: []string{"--rooms", "--broadcast"}, sioFlags: []string{"--rooms", "--broadcast"}, opsName: "deliveries",
			bench: func(c *config) []string {
				return []string{"-s", "fanout", "-c", strconv.Itoa(c.fanClients), "--inflight", "4", "-d", d, "--timeout", "10s"}
			}},
		{name: "polling", opsName: "round trips",
			bench: func(c *config) []string {
				return []string{"-s", "ack", "-c", "1000", "--transport", "polling", "--timeout", "30s", "-d", d}
			}},
		{name: "upgrade", opsName: "round trips",
			bench: func(c *config) []string {
				// The emitters outlast the upgraders' ramp (10,000 opened 64
				// at a time: 10–25 s here) so that the upgrades happen
				// under their load.
				return []string{"-s", "ack", "-c", strconv.Itoa(upgradeEmitters), "-d", (c.duration + upgradeRamp).String()}
			},
			// Held for the load's duration once all are open: the opening
			// (polling handshake, then the upgrade, 64 at a time) overlaps
			// the emitters' load. About three TCP connections each (two
			// polling, one WebSocket): four source addresses.
			side: func(c *config) []string {
				return []string{"-s", "connect", "-c", strconv.Itoa(upgradeUpgraders), "--transport", "auto",
					"--connect-concurrency", "64", "--connect-timeout", "30s", "--source-addr", idleSources, "-d", d}
			}},
		{name: "fanout1", nodeFlags: []string{"--rooms", "--broadcast"}, sioFlags: []string{"--rooms", "--broadcast"}, opsName: "deliveries",
			bench: func(c *config) []string {
				return []string{"-s", "fanout", "-c", strconv.Itoa(c.fanClients), "--inflight", "1", "-d", d, "--timeout", "10s"}
			}},
		{name: "p99", opsName: "round trips", halfNode: true,
			bench: func(c *config) []string {
				return []string{"-s", "ack", "-c", strconv.Itoa(p99Clients), "--rate", strconv.FormatFloat(c.p99Rate, 'f', 1, 64), "-d", d}
			}},
		{name: "idle5k", idle: 5000, opsName: "connections",
			bench: func(c *config) []string {
				return []string{"-s", "connect", "-c", "5000", "-d", "2s", "--source-addr", idleSources}
			}},
		{name: "idle19k", idle: 19000, opsName: "connections",
			bench: func(c *config) []string {
				return []string{"-s", "connect", "-c", "19000", "-d", "2s", "--source-addr", idleSources}
			}},
	}
}

// saturation is the p99 scenario's first step: Node's round trips/s at
// --rate 0 with the clients of the paced runs.
func saturation(c *config) scenario {
	return scenario{name: "p99-saturation", opsName: "round trips",
		bench: func(c *config) []string {
			return []string{"-s", "ack", "-c", strconv.Itoa(p99Clients), "-d", c.duration.String()}
		}}
}

// run is what one server did in one repetition.
type run struct {
	ok           bool
	why          string
	throughput   float64 // ops/s (idle: connections/s)
	serverCPUus  float64 // server CPU per op, µs
	loaderCPUus  float64 // load generator CPU per op, µs
	p50us        float64
	p99us        float64
	logPerOp     float64 // sioj: bytes of packet log per op
	errors       uint64  // of every sio bench of the run
	upgraded     uint64  // upgrade: the side's connections on WebSocket at its end
	sideOpenS    float64 // upgrade: how long the side took to open its connections, s
	serverCPUs   float64 // server CPU of the whole run, s
	rssPerConnK  float64 // idle: kB per connection (peak RSS)
	holdPerConnK float64 // idle: kB per connection while all are held (before they close)
	rssK         float64 // idle: RSS while holding, kB
	serverUtil   float64 // server CPU / wall time of the load
}

type benchResult struct {
	Throughput     float64  `json:"throughput_per_s"`
	ConnectRate    float64  `json:"connections_per_s"`
	Opened         uint64   `json:"connections_opened"`
	AcksMatched    uint64   `json:"acks_matched"`
	RepliesMatched uint64   `json:"replies_matched"`
	Deliveries     uint64   `json:"deliveries"`
	LoadSeconds    float64  `json:"load_s"`
	ConnectSeconds float64  `json:"connect_s"`
	LoaderCPUPerOp float64  `json:"loader_cpu_per_op_us"`
	Errors         uint64   `json:"errors"`
	ErrorSamples   []string `json:"error_samples"`
	Upgraded       uint64   `json:"upgraded"`
	Latency        struct {
		P50 float64 `json:"p50_us"`
		P99 float64 `json:"p99_us"`
	} `json:"latency"`
}

func main() {
	c := &config{}
	root := "."
	flag.StringVar(&c.sio, "sio", "./sio", "the sio binary")
	flag.StringVar(&c.nodeDir, "node", filepath.Join(root, "bench", "node"), "directory of server.mjs with node_modules installed")
	flag.StringVar(&c.goserver, "goserver", "", "the bench/goserver binary (pkg/server without sio serve's packet log); empty: not measured")
	flag.StringVar(&c.sioBase, "sio-base", "", "a baseline sio binary (e.g. built from an older commit), measured as `sio serve --quiet` next to -sio's, in the same run; empty: not measured")
	flag.IntVar(&c.reps, "reps", 3, "repetitions of each comparison (peers interleaved)")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "load duration of echo, ack, fanout, polling, upgrade (its emitters and the hold of its upgraders), fanout1 and p99 (its saturation runs too)")
	flag.StringVar(&c.serverCore, "server-core", "0", "CPU the server is pinned to (taskset -c)")
	flag.StringVar(&c.loadCore, "load-core", "1", "CPU the load generator is pinned to")
	scen := flag.String("scenarios", "echo,ack,fanout,idle5k,idle19k", "comma-separated, of: echo, ack, fanout, idle5k, idle19k, and "+
		"polling (ack from 1,000 long-polling clients), upgrade (1,000 WebSocket clients ack while 10,000 others upgrade from polling), "+
		"fanout1 (fanout with one broadcast in flight), p99 (ack -c 50 paced at half of Node's saturation, measured first)")
	// Node's reference server has no connection state recovery. sio serve
	// has it off by default since issue 11; older binaries (-sio-base) had
	// it on, and it adds an offset to every event sent.
	sioArgs := flag.String("sio-serve-args", "--recovery 0", "extra flags for sio serve (space-separated)")
	flag.IntVar(&c.scale, "scale", 0, "instead: hold this many connections over several sio serve processes, report errors and the memory slope")
	scaleKinds := flag.String("scale-servers", "sioq,sio", "-scale: the servers measured in turn: sioq (sio serve --quiet), sio (sio serve, log to /dev/null), sioj (sio serve -o json, log to a file)")
	flag.IntVar(&c.echoClients, "clients", 50, "clients of echo and ack")
	flag.IntVar(&c.fanClients, "fanout-clients", 1000, "sockets in the fanout room")
	flag.BoolVar(&c.verbose, "v", false, "print every run")
	servers := flag.String("servers", "", "comma-separated servers, node first: node, sio (sio serve, log to /dev/null), sioj (sio serve -o json, log to a file), "+
		"sioq (sio serve --quiet), sioqb (-sio-base's, --quiet), lib (-goserver); empty: node,sio,sioj,sioq, then sioqb with -sio-base and lib with -goserver")
	flag.Parse()
	c.scenarios = strings.Split(*scen, ",")
	c.sioArgs = strings.Fields(*sioArgs)
	c.scaleKinds = strings.Split(*scaleKinds, ",")
	ctx := context.Background()
	var err error
	if c.servers, err = chooseServers(c, *servers); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	if c.scale > 0 {
		err = scaleTest(ctx, c)
	} else {
		err = compare(ctx, c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// chooseServers reads -servers: node first (the ratios' base), each kind
// once, and the binaries its kinds need.
func chooseServers(c *config, list string) ([]string, error) {
	if list == "" {
		out := []string{"node", "sio", "sioj", "sioq"}
		if c.sioBase != "" {
			out = append(out, "sioqb")
		}
		if c.goserver != "" {
			out = append(out, "lib")
		}
		return out, nil
	}
	var out []string
	for _, k := range strings.Split(list, ",") {
		switch {
		case serverLabels[k] == "":
			return nil, fmt.Errorf("-servers: %q unknown (node, sio, sioj, sioq, sioqb, lib)", k)
		case slices.Contains(out, k):
			return nil, fmt.Errorf("-servers: %q twice", k)
		case k == "sioqb" && c.sioBase == "":
			return nil, errors.New("-servers: sioqb needs -sio-base")
		case k == "lib" && c.goserver == "":
			return nil, errors.New("-servers: lib needs -goserver")
		}
		out = append(out, k)
	}
	if len(out) == 0 || out[0] != "node" {
		return nil, errors.New("-servers: node must come first, every ratio is to it")
	}
	return out, nil
}

// measureNodeSaturation runs saturation(c) against Node c.reps times and
// sets c.p99Sat to the median round trips/s and c.p99Rate to the
// per-client rate (sio bench's --rate is per client for ack) that makes
// half of it in total.
func measureNodeSaturation(ctx context.Context, c *config) error {
	s := saturation(c)
	var rs []run
	for rep := range c.reps {
		r, err := measure(ctx, c, s, "node")
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if c.verbose || !r.ok {
			fmt.Fprintf(os.Stderr, "%-8s %-4s rep %d: %+v\n", s.name, "node", rep+1, r)
		}
		rs = append(rs, r)
	}
	c.p99Sat = median(rs, func(r run) float64 { return r.throughput })
	if c.p99Sat <= 0 {
		return errors.New("p99: no valid saturation run of Node")
	}
	c.p99Rate = c.p99Sat / 2 / p99Clients
	return nil
}

func compare(ctx context.Context, c *config) error {
	all := scenarios(c)
	type key struct{ scen, server string }
	results := map[key][]run{}
	var chosen []scenario
	for _, name := range c.scenarios {
		i := slices.IndexFunc(all, func(s scenario) bool { return s.name == name })
		if i < 0 {
			return fmt.Errorf("scenario %q unknown", name)
		}
		chosen = append(chosen, all[i])
	}
	for _, s := range chosen {
		if s.halfNode {
			if err := measureNodeSaturation(ctx, c); err != nil {
				return err
			}
		}
		for rep := range c.reps {
			// Rotate the order each repetition so no server always runs first.
			order := slices.Clone(c.servers)
			for range rep % len(order) {
				order = append(order[1:], order[0])
			}
			for _, server := range order {
				r, err := measure(ctx, c, s, server)
				if err != nil {
					return fmt.Errorf("%s/%s: %w", s.name, server, err)
				}
				if c.verbose || !r.ok {
					fmt.Fprintf(os.Stderr, "%-8s %-4s rep %d: %+v\n", s.name, server, rep+1, r)
				}
				results[key{s.name, server}] = append(results[key{s.name, server}], r)
			}
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	if c.p99Sat > 0 {
		fmt.Printf("p99: Node's saturation S = %.0f round trips/s (ack -c %d --rate 0, median of %d); paced at R = %.1f round trips/s per client = %.0f in total (S/2)\n",
			c.p99Sat, p99Clients, c.reps, c.p99Rate, c.p99Rate*p99Clients)
	}
	header := "scenario\tmetric\tNode 4.8.4\t"
	for _, kind := range c.servers[1:] {
		header += serverLabels[kind] + "\t/Node\t"
	}
	fmt.Fprintln(tw, header)
	for _, s := range chosen {
		n := results[key{s.name, "node"}]
		// rowOf prints a metric's medians, over the valid runs or all.
		rowOf := func(all bool, metric string, f func(run) float64, format string) {
			med := median
			if all {
				med = medianAll
			}
			mn := med(n, f)
			line := fmt.Sprintf("%s\t%s\t"+format+"\t", s.name, metric, mn)
			for _, kind := range c.servers[1:] {
				mg := med(results[key{s.name, kind}], f)
				ratio := "-"
				if mn > 0 {
					ratio = fmt.Sprintf("%.2f", mg/mn)
				}
				line += fmt.Sprintf(format+"\t%s\t", mg, ratio)
			}
			fmt.Fprintln(tw, line)
		}
		row := func(metric string, f func(run) float64, format string) { rowOf(false, metric, f, format) }
		switch {
		case s.side != nil:
			row(fmt.Sprintf("ack round trips/s (%d emitters)", upgradeEmitters), func(r run) float64 { return r.throughput }, "%.0f")
			row("p99 latency µs (emitters)", func(r run) float64 { return r.p99us }, "%.0f")
			row("server CPU µs per round trip (all server CPU / acks)", func(r run) float64 { return r.serverCPUus }, "%.2f")
			row("server CPU s (all, whole run)", func(r run) float64 { return r.serverCPUs }, "%.2f")
			row("server CPU use (whole run)", func(r run) float64 { return r.serverUtil * 100 }, "%.0f%%")
			row("upgraders' connect phase s", func(r run) float64 { return r.sideOpenS }, "%.1f")
			rowOf(true, "errors (emitters + upgraders, all runs)", func(r run) float64 { return float64(r.errors) }, "%.0f")
			row(fmt.Sprintf("upgraded to WebSocket (of %d)", upgradeUpgraders), func(r run) float64 { return float64(r.upgraded) }, "%.0f")
		case s.halfNode:
			row("round trips/s achieved", func(r run) float64 { return r.throughput }, "%.0f")
			row("p50 latency µs", func(r run) float64 { return r.p50us }, "%.0f")
			row("p99 latency µs", func(r run) float64 { return r.p99us }, "%.0f")
			row("server CPU µs per op", func(r run) float64 { return r.serverCPUus }, "%.2f")
			row("server CPU use", func(r run) float64 { return r.serverUtil * 100 }, "%.0f%%")
		case s.idle > 0:
			row("kB RSS per connection", func(r run) float64 { return r.rssPerConnK }, "%.1f")
			// The peak above includes the close of the connections (the
			// server's garbage then); this is while they are all held.
			row("kB RSS per connection held", func(r run) float64 { return r.holdPerConnK }, "%.1f")
			row("RSS held (MB)", func(r run) float64 { return r.rssK / 1024 }, "%.0f")
			row("connections/s", func(r run) float64 { return r.throughput }, "%.0f")
			row("server CPU µs per connection", func(r run) float64 { return r.serverCPUus }, "%.1f")
		default:
			row(s.opsName+"/s", func(r run) float64 { return r.throughput }, "%.0f")
			row("server CPU µs per op", func(r run) float64 { return r.serverCPUus }, "%.2f")
			row("server CPU use", func(r run) float64 { return r.serverUtil * 100 }, "%.0f%%")
			row("loader CPU µs per op", func(r run) float64 { return r.loaderCPUus }, "%.2f")
			row("p99 latency µs", func(r run) float64 { return r.p99us }, "%.0f")
		}
		bad := 0
		for _, kind := range c.servers {
			for _, r := range results[key{s.name, kind}] {
				if !r.ok {
					bad++
				}
			}
		}
		if bad > 0 {
			fmt.Fprintf(tw, "%s\tINVALID RUNS (errors)\t%d\t\t\t\n", s.name, bad)
		}
	}
	fmt.Fprintf(tw, "\t(medians of %d runs each, interleaved; server on CPU %s, load on CPU %s)\t\t\t\t\n", c.reps, c.serverCore, c.loadCore)
	return tw.Flush()
}

var serverLabels = map[string]string{"node": "Node 4.8.4", "sio": "sio serve", "sioj": "sio serve -o json >file",
	"sioq": "sio serve --quiet", "sioqb": "base sio serve --quiet", "lib": "pkg/server"}

// median is f's median over the valid runs (no errors).
func median(rs []run, f func(run) float64) float64 {
	return medianOf(rs, f, func(r run) bool { return r.ok })
}

// medianAll is f's median over every run, the invalid ones too.
func medianAll(rs []run, f func(run) float64) float64 {
	return medianOf(rs, f, func(run) bool { return true })
}

func medianOf(rs []run, f func(run) float64, keep func(run) bool) float64 {
	var v []float64
	for _, r := range rs {
		if keep(r) {
			v = append(v, f(r))
		}
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// server is a started server process.
type server struct {
	cmd     *exec.Cmd
	port    int
	logDir  string // sioj: the temporary directory of its packet log
	stopped bool
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startServer(ctx context.Context, c *config, kind string, flags []string, core string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	var args []string
	if core != "" {
		args = append(args, "taskset", "-c", core)
	}
	switch kind {
	case "node":
		args = append(args, "node", filepath.Join(c.nodeDir, "server.mjs"), "--port", strconv.Itoa(port))
	case "lib":
		args = append(args, c.goserver, "-port", strconv.Itoa(port))
	default:
		bin := c.sio
		if kind == "sioqb" {
			bin = c.sioBase
		}
		args = append(args, bin, "serve", "--no-tui", "-p", strconv.Itoa(port))
		args = append(args, serveArgs(c, kind)...)
	}
	args = append(args, flags...)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = nil, nil // discarded: sio serve logs every packet
	s := &server{cmd: cmd, port: port}
	if kind == "sioj" {
		// The per-packet JSON lines go to a real file, as a user keeping
		// the log would have them: /dev/null skips the file system.
		if s.logDir, err = os.MkdirTemp("", "sio-compare-log-"); err != nil {
			return nil, err
		}
		f, err := os.Create(s.logPath())
		if err != nil {
			os.RemoveAll(s.logDir)
			return nil, err
		}
		cmd.Stdout = f
		defer f.Close() // the server has its own descriptor once started
	}
	if err := cmd.Start(); err != nil {
		if s.logDir != "" {
			os.RemoveAll(s.logDir)
		}
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			conn.Close()
			// Let the process settle (JIT warm-up aside) before the baseline.
			time.Sleep(300 * time.Millisecond)
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s server did not listen on %d: %w", kind, port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serveArgs are the flags of sio serve for kind, the port aside.
func serveArgs(c *config, kind string) []string {
	var args []string
	switch kind {
	case "sioq", "sioqb":
		args = append(args, "--quiet")
	case "sioj":
		args = append(args, "-o", "json")
	}
	return append(args, c.sioArgs...)
}

func (s *server) logPath() string { return filepath.Join(s.logDir, "log.jsonl") }

// stop ends the server (once) and removes its log; logBytes is the log's
// size then (sioj), 0 otherwise.
func (s *server) stop() (logBytes int64) {
	if s.stopped {
		return 0
	}
	s.stopped = true
	// taskset execs the server, so the pid is the server's.
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	if s.logDir != "" {
		if fi, err := os.Stat(s.logPath()); err == nil {
			logBytes = fi.Size()
		}
		os.RemoveAll(s.logDir)
	}
	return logBytes
}

func (s *server) url() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }

var clkTck = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if v, err2 := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && err2 == nil && v > 0 {
		return v
	}
	return 100
}()

// procCPU is utime+stime of pid in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clkTck, nil
}

// procRSS is VmRSS of pid in kB.
func procRSS(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

// benchProc is one `sio bench` of a run.
type benchProc struct {
	cmd         *exec.Cmd
	out, errOut bytes.Buffer
}

func startBench(ctx context.Context, c *config, bench []string, url string) (*benchProc, error) {
	args := append([]string{"taskset", "-c", c.loadCore, c.sio, "bench"}, bench...)
	args = append(args, "-o", "json", "--progress", "off", "--max-errors", "1000000000", url)
	b := &benchProc{cmd: exec.CommandContext(ctx, args[0], args[1:]...)}
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.errOut
	return b, b.cmd.Start()
}

// result parses the report once the process has ended with waitErr.
func (b *benchProc) result(waitErr error) (benchResult, error) {
	var br benchResult
	if err := json.Unmarshal(b.out.Bytes(), &br); err != nil {
		return br, fmt.Errorf("sio bench: %v (%v) %s", waitErr, err, b.errOut.String())
	}
	return br, nil
}

func measure(ctx context.Context, c *config, s scenario, kind string) (run, error) {
	flags := s.sioFlags
	switch kind {
	case "node":
		flags = s.nodeFlags
	case "lib":
		flags = nil
		for _, f := range s.sioFlags {
			flags = append(flags, "-"+strings.TrimPrefix(f, "--"))
		}
	}
	srv, err := startServer(ctx, c, kind, flags, c.serverCore)
	if err != nil {
		return run{}, err
	}
	defer srv.stop()
	pid := srv.cmd.Process.Pid
	rss0, _ := procRSS(pid)
	cpu0, err := procCPU(pid)
	if err != nil {
		return run{}, err
	}
	start := time.Now()
	main, err := startBench(ctx, c, s.bench(c), srv.url())
	if err != nil {
		return run{}, err
	}
	procs := []*benchProc{main}
	if s.side != nil {
		side, err := startBench(ctx, c, s.side(c), srv.url())
		if err != nil {
			main.cmd.Process.Kill()
			main.cmd.Wait()
			return run{}, err
		}
		procs = append(procs, side)
	}
	// Sample the server's memory while the load runs (idle: the peak is
	// the connections held).
	peak, holdPeak := rss0, rss0
	fd0, _ := procFDs(pid)
	waitErrs := make([]error, len(procs))
	waitDone := make(chan struct{}, len(procs))
	for i, b := range procs {
		go func() { waitErrs[i] = b.cmd.Wait(); waitDone <- struct{}{} }()
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for running := len(procs); running > 0; {
		select {
		case <-waitDone:
			running--
		case <-tick.C:
			v, e := procRSS(pid)
			if e == nil && v > peak {
				peak = v
			}
			// The hold: every connection open (one descriptor each).
			if fds, _ := procFDs(pid); s.idle > 0 && e == nil && fds-fd0 >= s.idle && v > holdPeak {
				holdPeak = v
			}
		}
	}
	wall := time.Since(start).Seconds()
	cpu1, _ := procCPU(pid)
	logBytes := srv.stop()
	br, err := main.result(waitErrs[0])
	if err != nil {
		return run{}, err
	}
	r := run{p50us: br.Latency.P50, p99us: br.Latency.P99, loaderCPUus: br.LoaderCPUPerOp, errors: br.Errors}
	var samples []string
	if br.Errors > 0 {
		samples = br.ErrorSamples
	}
	if s.side != nil {
		sr, err := procs[1].result(waitErrs[1])
		if err != nil {
			return run{}, fmt.Errorf("side load: %w", err)
		}
		r.errors += sr.Errors
		r.upgraded = sr.Upgraded
		r.sideOpenS = sr.ConnectSeconds
		samples = append(samples, sr.ErrorSamples...)
		// The emitters' process only: the side's CPU is not per ack.
		r.loaderCPUus = br.LoaderCPUPerOp
	}
	r.ok = r.errors == 0
	if !r.ok {
		r.why = fmt.Sprintf("%d errors, e.g. %q", r.errors, samples)
	}
	ops := float64(br.AcksMatched + br.RepliesMatched + br.Deliveries)
	r.serverUtil = (cpu1 - cpu0) / wall
	r.serverCPUs = cpu1 - cpu0
	if s.idle > 0 {
		r.throughput = br.ConnectRate
		r.rssK = peak
		r.rssPerConnK = (peak - rss0) / float64(s.idle)
		r.holdPerConnK = (holdPeak - rss0) / float64(s.idle)
		if br.Opened > 0 {
			r.serverCPUus = (cpu1 - cpu0) * 1e6 / float64(br.Opened)
		}
		if br.Opened != uint64(s.idle) {
			r.ok = false
			r.why = fmt.Sprintf("opened %d of %d", br.Opened, s.idle)
		}
		return r, nil
	}
	r.throughput = br.Throughput
	if ops > 0 {
		r.serverCPUus = (cpu1 - cpu0) * 1e6 / ops
		r.logPerOp = float64(logBytes) / ops
	}
	return r, nil
}

// scaleTest holds c.scale connections over several sio serve processes
// (one process holds at most ~19,500 sockets here) and several source
// addresses, with the load generator spread over as many processes, once
// per kind of server in c.scaleKinds. While the connections open it
// samples each server's RSS and the connections it holds (its open
// descriptors beyond those it had before the load: one per WebSocket),
// prints both at 25/50/75/100 % of the ramp and fits RSS against
// connections held by least squares: the slope is the memory of one more
// held connection, in kB.
func scaleTest(ctx context.Context, c *config) error {
	for _, kind := range c.scaleKinds {
		if err := scaleOnce(ctx, c, kind); err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
	}
	return nil
}

// procFDs counts pid's open descriptors.
func procFDs(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

// scaleSample is one server's state at one time.
type scaleSample struct {
	held int     // connections held (descriptors beyond the baseline)
	rss  float64 // kB
}

// fitSlope is the least-squares slope of rss against held, kB per connection.
func fitSlope(ss []scaleSample) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, s := range ss {
		x := float64(s.held)
		n++
		sx += x
		sy += s.rss
		sxx += x * x
		sxy += x * s.rss
	}
	d := n*sxx - sx*sx
	if n < 2 || d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

func scaleOnce(ctx context.Context, c *config, kind string) error {
	const perProc = 17000
	n := (c.scale + perProc - 1) / perProc
	var urls []string
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for range n {
		s, err := startServer(ctx, c, kind, nil, "")
		if err != nil {
			return err
		}
		servers = append(servers, s)
		urls = append(urls, s.url())
	}
	before := make([]float64, n)
	fd0 := make([]int, n)
	for i, s := range servers {
		before[i], _ = procRSS(s.cmd.Process.Pid)
		fd0[i], _ = procFDs(s.cmd.Process.Pid)
	}
	args := []string{"bench", "-s", "connect", "-c", strconv.Itoa(c.scale), "--procs", strconv.Itoa(n), "-d", "10s",
		"--source-addr", "127.0.0.1-127.0.0.8", "--connect-concurrency", "32", "--connect-timeout", "30s", "-o", "json", "--progress", "off"}
	args = append(args, urls...)
	fmt.Printf("%s: %d × %s\n", serverLabels[kind], n, strings.Join(append([]string{c.sio, "serve", "--no-tui"}, serveArgs(c, kind)...), " "))
	fmt.Printf("$ %s %s\n", c.sio, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, c.sio, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	peaks := slices.Clone(before)
	held := make([]float64, n)          // RSS at the last sampling with every connection held (the hold)
	samples := make([][]scaleSample, n) // per server, while the total held grows
	var totals []int                    // total held at each sampling
	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var runErr error
	maxTotal := 0
wait:
	for {
		select {
		case runErr = <-waitDone:
			break wait
		case <-tick.C:
			total := 0
			row := make([]scaleSample, n)
			for i, s := range servers {
				pid := s.cmd.Process.Pid
				v, err := procRSS(pid)
				if err != nil {
					continue
				}
				fds, _ := procFDs(pid)
				row[i] = scaleSample{held: max(fds-fd0[i], 0), rss: v}
				total += row[i].held
				if v > peaks[i] {
					peaks[i] = v
				}
			}
			if total == maxTotal && total > 0 { // the hold
				for i := range servers {
					held[i] = row[i].rss
				}
			}
			if total <= maxTotal { // the hold, or the end: not the ramp
				continue
			}
			for i := range servers {
				held[i] = row[i].rss
			}
			maxTotal = total
			for i := range servers {
				samples[i] = append(samples[i], row[i])
			}
			totals = append(totals, total)
		}
	}
	var br benchResult
	if err := json.Unmarshal(out.Bytes(), &br); err != nil {
		return fmt.Errorf("sio bench: %v (%v)", runErr, err)
	}
	fmt.Printf("connections opened %d of %d, errors %d, %.0f connections/s\n", br.Opened, c.scale, br.Errors, br.ConnectRate)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	header := "process\tRSS before MB\t"
	quarters := []int{25, 50, 75, 100}
	at := make([]int, len(quarters)) // sample index where the total held first reaches each quarter
	for q, pct := range quarters {
		at[q] = -1
		for j, t := range totals {
			if t >= c.scale*pct/100 {
				at[q] = j
				break
			}
		}
		header += fmt.Sprintf("%d %%: held / RSS MB\t", pct)
	}
	header += "hold RSS MB\tpeak RSS MB\tslope kB/conn\t(hold-before)/held kB\t(peak-before)/held kB\t"
	fmt.Fprintln(tw, header)
	var all []scaleSample
	for i := range servers {
		line := fmt.Sprintf("%s #%d\t%.0f\t", serverLabels[kind], i+1, before[i]/1024)
		for q := range quarters {
			if j := at[q]; j >= 0 {
				line += fmt.Sprintf("%d / %.1f\t", samples[i][j].held, samples[i][j].rss/1024)
			} else {
				line += "-\t"
			}
		}
		nheld := 0
		if len(samples[i]) > 0 {
			nheld = samples[i][len(samples[i])-1].held
		}
		holdPer, peakPer := 0.0, 0.0
		if nheld > 0 {
			holdPer = (held[i] - before[i]) / float64(nheld)
			peakPer = (peaks[i] - before[i]) / float64(nheld)
		}
		line += fmt.Sprintf("%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t", held[i]/1024, peaks[i]/1024, fitSlope(samples[i]), holdPer, peakPer)
		fmt.Fprintln(tw, line)
		for _, s := range samples[i] {
			all = append(all, scaleSample{held: s.held, rss: s.rss - before[i]})
		}
	}
	_ = tw.Flush()
	fmt.Printf("all processes: slope %.2f kB per connection (least squares, %d samples during the ramp); RSS during the hold %.0f MB, peak %.0f MB (at any time, the close of the connections included) for %d connections\n",
		fitSlope(all), len(all), sum(held)/1024, sum(peaks)/1024, maxTotal)
	if br.Errors > 0 {
		return fmt.Errorf("%d errors, e.g. %q", br.Errors, br.ErrorSamples)
	}
	return nil
}

func sum(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t
}
