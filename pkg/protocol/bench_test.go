package protocol

import (
	"bytes"
	"testing"
)

// Benchmarks of the hot paths; results in BENCHMARKS.md ("pkg/protocol").

var (
	benchEvent       = []byte(`2["chat",{"user":"ann","text":"hello there","n":42}]`)
	benchBinaryEvent = []byte(`51-["upload",{"name":"a.bin","data":{"_placeholder":true,"num":0}}]`)
	benchAttachment  = bytes.Repeat([]byte{0xab}, 1024)
)

func BenchmarkParsePacketEvent(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if _, err := ParsePacket(benchEvent, EIO4, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPacketEvent(b *testing.B) {
	p, err := ParsePacket(benchEvent, EIO4, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPacket(buf[:0], &p)
	}
}

func BenchmarkParsePacketBinaryEvent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePacket(benchBinaryEvent, EIO4, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPacketBinaryEvent(b *testing.B) {
	p, err := ParsePacket(benchBinaryEvent, EIO4, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	p.Attachments = [][]byte{benchAttachment}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPacket(buf[:0], &p)
	}
}

// BenchmarkDecoderAddEvent is a text event through a connection's Decoder.
func BenchmarkDecoderAddEvent(b *testing.B) {
	d := &Decoder{Version: EIO4}
	b.ReportAllocs()
	for b.Loop() {
		if _, done, err := d.Add(benchEvent, false); err != nil || !done {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecoderAddBinaryEvent is a header and one 1 KiB attachment.
func BenchmarkDecoderAddBinaryEvent(b *testing.B) {
	d := &Decoder{Version: EIO4}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := d.Add(benchBinaryEvent, false); err != nil {
			b.Fatal(err)
		}
		if _, done, err := d.Add(benchAttachment, true); err != nil || !done {
			b.Fatal(err)
		}
	}
}

func benchPayloadPackets() []EnginePacket {
	var pkts []EnginePacket
	for i := range 10 {
		if i == 5 {
			pkts = append(pkts, EnginePacket{Type: EnginePing})
			continue
		}
		pkts = append(pkts, EnginePacket{Type: EngineMessage, Data: benchEvent})
	}
	return pkts
}

func BenchmarkPayloadV4Parse10(b *testing.B) {
	payload := AppendPayloadV4(nil, benchPayloadPackets()...)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		n := 0
		for _, err := range PayloadV4(payload) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 10 {
			b.Fatal(n)
		}
	}
}

func BenchmarkPayloadV4Append10(b *testing.B) {
	pkts := benchPayloadPackets()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPayloadV4(buf[:0], pkts...)
	}
}

func BenchmarkParseEngineText(b *testing.B) {
	frame := append([]byte{'4'}, benchEvent...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEngineText(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEventArgs(b *testing.B) {
	p, err := ParsePacket(benchEvent, EIO4, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Event(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMsgpackParseEvent(b *testing.B) {
	p, _ := ParsePacket(benchEvent, EIO4, Limits{})
	enc, err := AppendMsgpackPacket(nil, &p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMsgpackPacket(enc, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMsgpackAppendEvent(b *testing.B) {
	p, _ := ParsePacket(benchEvent, EIO4, Limits{})
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendMsgpackPacket(buf[:0], &p); err != nil {
			b.Fatal(err)
		}
	}
}
