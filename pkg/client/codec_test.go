package client

import (
	"context"
	"errors"
	"testing"

	"github.com/sio-dev/sio/pkg/protocol"
)

// A server built with another parser closes the connection on our
// CONNECT: Connect says so with a typed error naming our parser.
func TestConnectClosedOnCONNECTIsTyped(t *testing.T) {
	t.Parallel()
	for _, codec := range []protocol.Codec{protocol.JSONCodec{}, protocol.MsgpackCodec{}} {
		t.Run(codec.Name(), func(t *testing.T) {
			t.Parallel()
			f := newFakeEngine(t, protocol.EIO4)
			opts := testOptions(f)
			opts.NoReconnect = true
			opts.Codec = codec
			c, err := New("http://example.test", opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			errc := make(chan error, 1)
			go func() { errc <- c.Connect(t.Context()) }()
			fc := f.next(t)
			<-fc.sent // the CONNECT, in whichever format
			fc.end(protocol.ReasonForcedClose, nil)
			err = <-errc
			var coe *ClosedOnConnectError
			if !errors.As(err, &coe) || coe.Parser != codec.Name() || coe.Reason != string(protocol.ReasonForcedClose) || coe.Namespace != "/" {
				t.Fatalf("Connect = %v, want a ClosedOnConnectError for %s", err, codec.Name())
			}
			if !errors.Is(err, ErrNotConnected) {
				t.Errorf("%v is not ErrNotConnected", err)
			}
			if other := coe.OtherParser(); other == codec.Name() {
				t.Errorf("OtherParser = %s", other)
			}
		})
	}
}

// With reconnection on, the first connection's wait ends with the
// context, and its error still carries why the CONNECT went unanswered.
func TestConnectTimeoutCarriesClosedOnCONNECT(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, err := New("http://example.test", testOptions(f))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(ctx) }()
	fc := f.next(t)
	fc.expect(t, "0")
	fc.end(protocol.ReasonTransportClose, nil)
	// The reconnection's CONNECT is not answered either.
	f.next(t).expect(t, "0")
	cancel()
	err = <-errc
	var coe *ClosedOnConnectError
	if !errors.As(err, &coe) || !errors.Is(err, ErrNoConnectReply) {
		t.Fatalf("Connect = %v, want ErrNoConnectReply with a ClosedOnConnectError", err)
	}
}

// Once connected, a lost connection is an ordinary DisconnectError.
func TestLostAfterConnectIsNotClosedOnCONNECT(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	opts := testOptions(f)
	opts.NoReconnect = true
	c, fc, _ := dialFake(t, f, "http://example.test", opts)
	errc := make(chan error, 1)
	go func() { _, err := c.EmitWithAck(t.Context(), "q"); errc <- err }()
	fc.expect(t, `20["q"]`)
	fc.end(protocol.ReasonTransportClose, nil)
	err := <-errc
	var coe *ClosedOnConnectError
	var de *DisconnectError
	if errors.As(err, &coe) || !errors.As(err, &de) {
		t.Fatalf("ack err = %v, want a DisconnectError", err)
	}
}

// The msgpack codec puts one binary message on the wire per packet.
func TestMsgpackCodecOnTheWire(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	opts := testOptions(f)
	opts.Codec = protocol.MsgpackCodec{}
	c, err := New("http://example.test", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(t.Context()) }()
	fc := f.next(t)
	connect, _ := protocol.AppendMsgpackPacket(nil, &protocol.Packet{Type: protocol.PacketConnect, Namespace: "/"})
	fc.expectBinary(t, connect)
	reply, _ := protocol.AppendMsgpackPacket(nil, &protocol.Packet{Type: protocol.PacketConnect, Namespace: "/", Data: []byte(`{"sid":"S1"}`)})
	fc.deliverBinary(reply)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := c.Emit("e", Notation(`{"b":{"$binary":"AQI="}}`)); err != nil {
		t.Fatal(err)
	}
	p := protocol.Packet{Type: protocol.PacketBinaryEvent, Namespace: "/", Data: []byte(`["e",{"b":{"_placeholder":true,"num":0}}]`), Attachments: [][]byte{{1, 2}}}
	want, err := protocol.AppendMsgpackPacket(nil, &p)
	if err != nil {
		t.Fatal(err)
	}
	fc.expectBinary(t, want)
}
