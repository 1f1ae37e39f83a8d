//go:build linux

// Command uringfanout measures what one broadcast of a small WebSocket
// frame to 1,000 loopback TCP sockets costs when each send is its own
// write(2) (what the Go server does) and when the sends are IORING_OP_SEND
// SQEs submitted in one io_uring_enter per broadcast (issue 17, target 3).
//
// It opens N connection pairs on 127.0.0.1, hands the receiving ends to a
// copy of itself (-role sink, started under `taskset -c SINKCPU`) that
// drains them with epoll, and sends M broadcasts per run, in every mode, in
// interleaved rounds. After each run it waits until the sink has read every
// byte, so the sink's reads and the TCP input are inside the run.
//
//	go build -o /tmp/uringfanout ./bench/uringfanout
//	taskset -c 0 /tmp/uringfanout -n 1000 -m 2000 -reps 5
//
// Per run and send (one send = one delivery of the frame to one socket):
//
//	send   CPU of the sending process, getrusage(RUSAGE_SELF): all its
//	       threads, including io_uring's io-wq workers and SQPOLL thread
//	sink   CPU of the sink process (sum of /proc/PID/task/*/schedstat)
//	ksirq  CPU of the ksoftirqd threads (TCP input deferred off the sender)
//	total  send+sink+ksirq
//	busy   /proc/stat busy time of both cores (includes whatever else runs
//	       on this shared machine, so only a cross-check)
//
// Modes: write (syscall.Write on the non-blocking fd, as net.Conn.Write
// does), uring (one SEND SQE per socket, one io_uring_enter per broadcast
// that submits them and waits for their completions), uring-fixed (the same
// with registered files), uring-defer (registered files, SINGLE_ISSUER +
// DEFER_TASKRUN on a locked thread), sqpoll (registered files, a kernel
// SQPOLL thread on the sender's core; its CPU counts in send).
//
// Results (2026-12-05, Firecracker VM, 2 cores shared with compiles (load
// 3-13), kernel 6.18, PTI on; n=1000, m=2000, 5 interleaved rounds; ns per
// send, median [min-max]):
//
//	mode         send               sink               total
//	write        8399 [7482-11747]  7629 [7410-10185]  16039 [14905-21705]
//	uring        4259 [3362-4341]   5858 [4999-7125]   10393 [8563-11874]
//	uring-fixed  4445 [3402-4535]   6017 [5407-6764]   10848 [9080-11799]
//	uring-defer  3595 [2751-4462]   5677 [4560-6239]    9510 [7620-11010]
//	sqpoll       4160 [3926-5761]   5111 [4161-6215]    9302 [8094-11988]
//
// ksoftirqd stayed under 0.5 us per send; no EAGAIN, no short send. The
// sender's TCP work (tcp_sendmsg down to the receiver's tcp_v4_rcv, run in
// its softirq) is the same in both modes; what io_uring saves is the
// syscall entry/exit per send and, more, the wakeups of a sink that sleeps
// between the slower write(2)s (sock_def_readable -> try_to_wake_up with
// interrupts off, the largest symbol under write, pvm_irq_enable).
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	role := flag.String("role", "send", "send (the measuring parent) or sink (started by it)")
	n := flag.Int("n", 1000, "sockets")
	m := flag.Int("m", 2000, "broadcasts per run")
	reps := flag.Int("reps", 5, "rounds (each runs every mode once)")
	modes := flag.String("modes", "write,uring,uring-fixed,uring-defer,sqpoll", "modes, comma-separated")
	sinkCPU := flag.String("sinkcpu", "1", "taskset CPU list for the sink")
	sqCPU := flag.Int("sqcpu", 0, "CPU of the SQPOLL thread")
	frameLen := flag.Int("frame", 60, "bytes per frame")
	flag.Parse()
	if *role == "sink" {
		sink(*n)
		return
	}
	if err := send(*n, *m, *reps, strings.Split(*modes, ","), *sinkCPU, uint32(*sqCPU), *frameLen); err != nil {
		fmt.Fprintln(os.Stderr, "uringfanout:", err)
		os.Exit(1)
	}
}

// sink drains fds 5..5+n-1 and answers each 8-byte byte count written on
// fd 3 with an 8-byte write on fd 4 once it has read that many bytes.
func sink(n int) {
	runtime.LockOSThread()
	const ctrl, ack, first = 3, 4, 5
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		panic(err)
	}
	for fd := ctrl; fd < first+n; fd++ {
		if fd == ack {
			continue
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			panic(err)
		}
	}
	var received, expected uint64
	buf := make([]byte, 64<<10)
	events := make([]unix.EpollEvent, 256)
	for {
		k, err := unix.EpollWait(ep, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			panic(err)
		}
		for _, ev := range events[:k] {
			fd := int(ev.Fd)
			r, err := unix.Read(fd, buf)
			if fd == ctrl {
				if r < 8 {
					return // the parent is done
				}
				expected = binary.LittleEndian.Uint64(buf)
				continue
			}
			if err != nil || r == 0 {
				unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, fd, nil)
				continue
			}
			received += uint64(r)
		}
		if expected != 0 && received >= expected {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], received)
			unix.Write(ack, b[:])
			expected = 0
		}
	}
}

type sample struct {
	wall              time.Duration
	send, sink, ksirq int64 // ns
	busy              int64 // ns, /proc/stat both cores
	wakeups           int64 // the sink's voluntary context switches
	eagain, short     int
}

func send(n, m, reps int, modes []string, sinkCPU string, sqCPU uint32, frameLen int) error {
	runtime.LockOSThread()
	frame := makeFrame(frameLen)
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return err
	}
	if err := unix.Listen(ln, 4096); err != nil {
		return err
	}
	sa, _ := unix.Getsockname(ln)
	fds := make([]int, n)
	peers := make([]*os.File, n)
	for i := range n {
		c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Connect(c, sa); err != nil {
			return err
		}
		a, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
		if err != nil {
			return err
		}
		unix.SetsockoptInt(a, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) // as Go's net and Node's ws do
		fds[i] = a
		peers[i] = os.NewFile(uintptr(c), "peer")
	}
	ctrlR, ctrlW, _ := os.Pipe()
	ackR, ackW, _ := os.Pipe()
	self, _ := os.Executable()
	cmd := exec.Command("taskset", "-c", sinkCPU, self, "-role", "sink", "-n", strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = append([]*os.File{ctrlR, ackW}, peers...)
	if err := cmd.Start(); err != nil {
		return err
	}
	ctrlR.Close()
	ackW.Close()
	for _, p := range peers {
		p.Close()
	}
	defer func() { ctrlW.Close(); cmd.Wait() }()
	sinkPID := cmd.Process.Pid
	time.Sleep(200 * time.Millisecond) // let taskset exec the sink

	var sent uint64
	run := func(mode string, m int) (sample, error) {
		b, err := newBroadcaster(mode, fds, sqCPU)
		if err != nil {
			return sample{}, err
		}
		defer b.close()
		var s sample
		t0, self0, sink0, ks0, busy0 := time.Now(), selfCPU(), tasksCPU(sinkPID), ksoftirqdCPU(), procStatBusy()
		sw0 := sleeps(sinkPID)
		for range m {
			if err := b.broadcast(frame, &s); err != nil {
				return s, err
			}
		}
		sent += uint64(m * n * len(frame))
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], sent)
		ctrlW.Write(w[:])
		if _, err := ackR.Read(w[:]); err != nil {
			return s, err
		}
		s.wall = time.Since(t0)
		s.send = selfCPU() - self0
		s.sink = tasksCPU(sinkPID) - sink0
		s.ksirq = ksoftirqdCPU() - ks0
		s.busy = procStatBusy() - busy0
		s.wakeups = sleeps(sinkPID) - sw0
		return s, nil
	}
	for _, mode := range modes { // warm up, and fail early on a mode that does not work here
		if _, err := run(mode, 50); err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
	}
	res := map[string][]sample{}
	sends := float64(m * n)
	per := func(ns int64) float64 { return float64(ns) / sends }
	fmt.Printf("n=%d m=%d frame=%dB; ns per send\n", n, m, len(frame))
	fmt.Printf("%-12s %7s %7s %7s %7s %7s %7s %7s %7s\n", "mode", "send", "sink", "ksirq", "total", "busy", "wall", "eagain", "wakeups")
	for r := range reps {
		for _, mode := range modes {
			s, err := run(mode, m)
			if err != nil {
				return fmt.Errorf("%s: %w", mode, err)
			}
			res[mode] = append(res[mode], s)
			fmt.Printf("%-12s %7.0f %7.0f %7.0f %7.0f %7.0f %7.0f %7d %7.3f  round %d\n", mode,
				per(s.send), per(s.sink), per(s.ksirq), per(s.send+s.sink+s.ksirq), per(s.busy), per(int64(s.wall)), s.eagain+s.short, float64(s.wakeups)/sends, r+1)
		}
	}
	fmt.Println("\nmedians [min-max], ns per send")
	fmt.Printf("%-12s %-18s %-18s %-18s %-18s %-18s\n", "mode", "send", "sink", "ksirq", "total", "busy")
	for _, mode := range modes {
		col := func(f func(s sample) int64) string {
			v := make([]float64, 0, reps)
			for _, s := range res[mode] {
				v = append(v, per(f(s)))
			}
			slices.Sort(v)
			return fmt.Sprintf("%.0f [%.0f-%.0f]", v[len(v)/2], v[0], v[len(v)-1])
		}
		fmt.Printf("%-12s %-18s %-18s %-18s %-18s %-18s\n", mode,
			col(func(s sample) int64 { return s.send }), col(func(s sample) int64 { return s.sink }),
			col(func(s sample) int64 { return s.ksirq }), col(func(s sample) int64 { return s.send + s.sink + s.ksirq }),
			col(func(s sample) int64 { return s.busy }))
	}
	return nil
}

// makeFrame returns an unmasked WebSocket text frame (server to client)
// carrying a Socket.IO event, total bytes long (< 126).
func makeFrame(total int) []byte {
	payload := []byte(`42["message","`)
	for len(payload) < total-2-2 {
		payload = append(payload, 'x')
	}
	payload = append(payload, `"]`...)
	return append([]byte{0x81, byte(len(payload))}, payload...)
}

type broadcaster interface {
	broadcast(frame []byte, s *sample) error
	close()
}

func newBroadcaster(mode string, fds []int, sqCPU uint32) (broadcaster, error) {
	switch mode {
	case "write":
		return writeB{fds}, nil
	case "uring":
		return newUringB(fds, 0, false, 0)
	case "uring-fixed":
		return newUringB(fds, 0, true, 0)
	case "uring-defer":
		return newUringB(fds, setupSingleIssuer|setupDeferTaskrun|setupCoopTaskrun, true, 0)
	case "sqpoll":
		return newUringB(fds, setupSQPoll|setupSQAff, true, sqCPU)
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}

type writeB struct{ fds []int }

func (w writeB) close() {}

func (w writeB) broadcast(frame []byte, s *sample) error {
	for _, fd := range w.fds {
		if err := writeAll(fd, frame, s); err != nil {
			return err
		}
	}
	return nil
}

// writeAll writes b to the non-blocking fd, waiting in poll(2) on EAGAIN.
func writeAll(fd int, b []byte, s *sample) error {
	for len(b) > 0 {
		k, err := syscall.Write(fd, b)
		if err == syscall.EAGAIN {
			s.eagain++
			unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}, -1)
			continue
		}
		if err != nil {
			return err
		}
		if k < len(b) {
			s.short++
		}
		b = b[k:]
	}
	return nil
}

type uringB struct {
	r     *ring
	fds   []int
	fixed bool
}

func newUringB(fds []int, flags uint32, fixed bool, sqCPU uint32) (*uringB, error) {
	entries := uint32(1)
	for entries < uint32(len(fds)) && entries < 4096 {
		entries <<= 1
	}
	r, err := newRing(entries, flags, sqCPU)
	if err != nil {
		return nil, err
	}
	if fixed {
		f := make([]int32, len(fds))
		for i, fd := range fds {
			f[i] = int32(fd)
		}
		if err := r.registerFiles(f); err != nil {
			r.close()
			return nil, err
		}
	}
	return &uringB{r: r, fds: fds, fixed: fixed}, nil
}

func (u *uringB) close() { u.r.close() }

func (u *uringB) broadcast(frame []byte, s *sample) error {
	var err error
	done := func(c *cqe) {
		i := int(c.UserData)
		switch {
		case c.Res == -int32(unix.EAGAIN):
			s.eagain++
			err = writeAll(u.fds[i], frame, s)
		case c.Res < 0:
			err = fmt.Errorf("send to fd %d: %w", u.fds[i], syscall.Errno(-c.Res))
		case int(c.Res) < len(frame):
			s.short++
			err = writeAll(u.fds[i], frame[c.Res:], s)
		}
	}
	for i := 0; i < len(u.fds); {
		var k uint32
		for ; i < len(u.fds) && u.r.free() > 0; i++ {
			fd := int32(u.fds[i])
			if u.fixed {
				fd = int32(i)
			}
			u.r.prepSend(fd, u.fixed, frame, uint64(i))
			k++
		}
		if e := u.r.submitAndWait(k); e != nil {
			return e
		}
		for got := uint32(0); got < k; {
			n := uint32(u.r.reap(done))
			got += n
			if got < k && n == 0 {
				if e := u.r.submitAndWait(k - got); e != nil {
					return e
				}
			}
		}
	}
	return err
}

// selfCPU is the CPU time of this process, all threads (io-wq and SQPOLL
// threads included, living or exited), in ns.
func selfCPU() int64 {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// tasksCPU sums the first field of /proc/PID/task/*/schedstat (ns on CPU).
func tasksCPU(pid int) int64 {
	dirs, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var t int64
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		v, _ := strconv.ParseInt(string(bytes.Fields(b)[0]), 10, 64)
		t += v
	}
	return t
}

// sleeps sums voluntary_ctxt_switches over /proc/PID/task/*/status: how
// often the sink went to sleep (and had to be woken by a send).
func sleeps(pid int) int64 {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var t int64
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				x, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				t += x
			}
		}
	}
	return t
}

var ksoftirqdPIDs []int

func ksoftirqdCPU() int64 {
	if ksoftirqdPIDs == nil {
		comms, _ := filepath.Glob("/proc/[0-9]*/comm")
		for _, c := range comms {
			b, _ := os.ReadFile(c)
			if strings.HasPrefix(string(b), "ksoftirqd/") {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(c)))
				ksoftirqdPIDs = append(ksoftirqdPIDs, pid)
			}
		}
	}
	var t int64
	for _, pid := range ksoftirqdPIDs {
		t += tasksCPU(pid)
	}
	return t
}

// procStatBusy is the busy time of all CPUs from /proc/stat, in ns.
func procStatBusy() int64 {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))[1:]
	var busy int64
	for i, v := range f {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait, guest (already in user)
			continue
		}
		x, _ := strconv.ParseInt(v, 10, 64)
		busy += x
	}
	return busy * int64(time.Second) / 100 // USER_HZ
}
