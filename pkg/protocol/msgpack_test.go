package protocol

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestMsgpackNamespace checks that the msgpack codec keeps nsp as it was
// on the wire, "" included. Issue 20: FuzzParseMsgpackPacket found that
// {"type":0,"nsp":""} parsed as "" and was written back as "/". Node's
// socket.io-msgpack-parser accepts any string, and a socket.io 4.8 server
// treats "" as its own (unknown) namespace over EIO4, answering with a
// CONNECT_ERROR whose nsp is "" (the last case is that reply, byte for
// byte), so neither "/" nor an error would show what the peer meant.
func TestMsgpackNamespace(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, hex, nsp string
	}{
		{"empty", "82a47479706500a36e7370a0", ""},
		{"main", "82a47479706500a36e7370a12f", "/"},
		{"admin", "82a47479706500a36e7370a62f61646d696e", "/admin"},
		// Without a leading slash: kept too; Node's server looks it up as
		// it is and answers "Invalid namespace".
		{"no-slash", "82a47479706500a36e7370a561646d696e", "admin"},
		{"connect-error-empty", "83a47479706504a36e7370a0a46461746181a76d657373616765b1496e76616c6964206e616d657370616365", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, err := hex.DecodeString(c.hex)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParseMsgpackPacket(in, Limits{})
			if err != nil {
				t.Fatalf("ParseMsgpackPacket(%s): %v", c.hex, err)
			}
			if p.Namespace != c.nsp {
				t.Fatalf("namespace %q, want %q", p.Namespace, c.nsp)
			}
			out, err := AppendMsgpackPacket(nil, &p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, in) {
				t.Fatalf("append(parse(%s)) = %x", c.hex, out)
			}
		})
	}
}
