package render

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// benchFrame is an event as `sio bench -s echo` sends it (62-byte payload).
const benchFrame = `20["bench",{"c":1,"s":0,"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`

func benchTrace(b *testing.B) protocol.Trace {
	p, err := protocol.ParsePacket([]byte(benchFrame), protocol.EIO4, protocol.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	return protocol.Trace{
		Time: t0, Dir: protocol.In, Layer: protocol.LayerSocket,
		EngineSID: "engine-sid", SID: "x8WIv7-mJelg7on_ALbx", Transport: "websocket",
		EIO: protocol.EIO4, Packet: p, Raw: [][]byte{[]byte(benchFrame)},
	}
}

func benchPrinter(b *testing.B, format string) {
	tr := benchTrace(b)
	p, err := New(io.Discard, Options{Format: format})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		p.Trace(tr)
	}
}

func BenchmarkPrinterJSON(b *testing.B)   { benchPrinter(b, FormatJSON) }
func BenchmarkPrinterPretty(b *testing.B) { benchPrinter(b, FormatPretty) }

func BenchmarkFromTrace(b *testing.B) {
	tr := benchTrace(b)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		_ = FromTrace(tr, false)
	}
}

// cpuPerOp reports the process's CPU time (user+system, GC included) per
// op as cpu-ns/op: on a shared, loaded machine ns/op (wall time) says more
// about the neighbours than about the code.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPrinterJSONFile writes to a file, one write(2) per line
// (batch1) or per 32 lines in batch mode (batch32, as `sio serve` does
// when its queue holds that many).
func BenchmarkPrinterJSONFile(b *testing.B) {
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log.jsonl"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			tr := benchTrace(b)
			p, err := New(f, Options{Format: FormatJSON})
			if err != nil {
				b.Fatal(err)
			}
			p.SetBatch(n > 1)
			b.ReportAllocs()
			defer cpuPerOp(b)()
			i := 0
			for b.Loop() {
				p.Trace(tr)
				if i++; i%n == 0 {
					p.Flush()
				}
			}
			p.Flush()
		})
	}
}
