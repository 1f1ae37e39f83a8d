package main

import (
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/pkg/adminui"
)

// TestAdminFlags checks the parsing half of `sio admin`: what each
// invocation asks for, and the usage errors.
func TestAdminFlags(t *testing.T) {
	env := map[string]string{"SIO_ADMIN_PASSWORD": "from-env"}
	parse := func(tty bool, args ...string) (*adminOptions, error) {
		ios, _, _, _ := iostreams.Test()
		ios.SetStdoutTTY(tty)
		ios.SetStdinTTY(tty)
		var got *adminOptions
		cmd := newAdminCmd(&app{io: ios, getenv: func(k string) string { return env[k] }}, func(o *adminOptions) error { got = o; return nil })
		cmd.SetArgs(args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		return got, err
	}
	o, err := parse(true, "http://h:1/ops", "--auth", "admin:a:b")
	if err != nil || o.URL != "http://h:1/ops" || o.User != "admin" || o.Password != "a:b" || o.Action != "" || !o.TUI {
		t.Errorf("watch: %+v %v", o, err)
	}
	if o, _ = parse(true, "--watch", "-u", "http://h:1"); o.TUI || !o.Watch {
		t.Errorf("--watch on a terminal: %+v", o)
	}
	if o, _ = parse(false, "http://h:1"); o.TUI {
		t.Errorf("no terminal: TUI")
	}
	if o, _ = parse(true, "sockets", "http://h:1", "--auth", "root", "--nsp", "chat"); o.Action != "sockets" || o.Password != "from-env" || o.Nsp != "/chat" || o.URL != "http://h:1" {
		t.Errorf("sockets: %+v", o)
	}
	if o, _ = parse(false, "emit", "-u", "http://h:1", "--to", "vip", "news", "1", "x"); o.Action != "emit" || o.To != "vip" || strings.Join(o.Args, " ") != "news 1 x" {
		t.Errorf("emit: %+v", o)
	}
	if o, _ = parse(false, "disconnect", "--close", "abc"); o.Action != "disconnect" || !o.Close || o.Args[0] != "abc" || o.URL != defaultURL || o.Transport != "polling" {
		t.Errorf("disconnect: %+v", o)
	}
	if o, _ = parse(false, "join", "--transport", "websocket", "a", "r"); o.Transport != "websocket" {
		t.Errorf("join --transport websocket: %+v", o)
	}
	if o, _ = parse(false, "sockets"); o.Transport != "auto" {
		t.Errorf("sockets: %+v", o)
	}
	for _, bad := range [][]string{
		{"-o", "yaml"},
		{"ftp://h"},
		{"--auth", ":pw"},
		{"join", "only-one"},
		{"leave", "a", "b", "c"},
		{"emit"},
		{"-H", "nocolon"},
		{"-u", "http://a", "http://b"},
	} {
		delete(env, "SIO_ADMIN_PASSWORD")
		if _, err := parse(false, bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := parse(false, "--auth", "user"); err == nil || !strings.Contains(err.Error(), "SIO_ADMIN_PASSWORD") {
		t.Errorf("--auth user without the env: %v", err)
	}
}

func TestTargetNamespace(t *testing.T) {
	socks := []adminui.SocketInfo{
		{Socket: adminui.Socket{ID: "a", Nsp: "/chat", Rooms: []string{"a", "r1", "both"}}},
		{Socket: adminui.Socket{ID: "b", Nsp: "/", Rooms: []string{"b", "both"}}},
	}
	for filter, want := range map[string]string{"a": "/chat", "r1": "/chat", "b": "/", "none": "/", "": "/"} {
		if got, err := targetNamespace(socks, filter); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", filter, got, err, want)
		}
	}
	if _, err := targetNamespace(socks, "both"); err == nil || !strings.Contains(err.Error(), "/, /chat") {
		t.Errorf("a room in two namespaces: %v", err)
	}
}
