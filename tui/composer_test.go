package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

func newTestComposer(history []HistoryItem) *composer {
	cp := newComposer(NewCommon(false, 80, 24), history)
	cp.focus(0)
	return cp
}

// typeInto types s into the composer's focused field.
func typeInto(cp *composer, s string) {
	for _, r := range s {
		k := tea.KeyPressMsg{Code: r, Text: string(r)}
		if r == ' ' {
			k = keyMsg("space")
		}
		cp.Update(k)
	}
}

func TestComposerValidatesAsYouType(t *testing.T) {
	t.Parallel()
	cp := newTestComposer(nil)
	typeInto(cp, "chat")
	cp.Update(keyMsg("tab"))
	typeInto(cp, `hi {"n":`)
	if !strings.Contains(cp.err, "arg 2") {
		t.Fatalf("err = %q, want an error on arg 2", cp.err)
	}
	if !strings.Contains(cp.View(), "✗ arg 2") {
		t.Fatalf("the error is not shown inline:\n%s", cp.View())
	}
	if cmd := cp.Update(keyMsg("enter")); cmd != nil {
		t.Fatal("an invalid line was sent")
	}
	typeInto(cp, "1}")
	if cp.err != "" {
		t.Fatalf("err = %q after fixing the JSON", cp.err)
	}
	cp.Update(keyMsg("ctrl+t"))
	msg := cp.Update(keyMsg("enter"))()
	sm, ok := msg.(sendMsg)
	if !ok {
		t.Fatalf("enter gave %T", msg)
	}
	if sm.event != "chat" || sm.nsp != "/" || !sm.ack || len(sm.args) != 2 || string(sm.args[1]) != `{"n":1}` {
		t.Fatalf("sendMsg = %+v", sm)
	}
}

func TestComposerRejects(t *testing.T) {
	t.Parallel()
	cp := newTestComposer(nil)
	typeInto(cp, "disconnect")
	if !strings.Contains(cp.err, "reserved") {
		t.Fatalf("err = %q for a reserved name", cp.err)
	}
	cp = newTestComposer(nil)
	cp.Update(keyMsg("tab"))
	typeInto(cp, "x")
	cp.Update(keyMsg("enter"))
	if cp.err != "type an event name" || cp.field != 0 {
		t.Fatalf("empty event: err %q field %d", cp.err, cp.field)
	}
}

func TestComposerHistory(t *testing.T) {
	t.Parallel()
	cp := newTestComposer([]HistoryItem{{Event: "a", Args: "1"}, {Event: "b", Args: "2", Ack: true}})
	typeInto(cp, "dra")
	cp.Update(keyMsg("up"))
	if cp.event.Value() != "b" || cp.args.Value() != "2" || !cp.ack {
		t.Fatalf("up: %q %q %v", cp.event.Value(), cp.args.Value(), cp.ack)
	}
	cp.Update(keyMsg("up"))
	cp.Update(keyMsg("up")) // stays on the oldest
	if cp.event.Value() != "a" {
		t.Fatalf("up up: %q", cp.event.Value())
	}
	cp.Update(keyMsg("down"))
	cp.Update(keyMsg("down"))
	if cp.event.Value() != "dra" || cp.ack {
		t.Fatalf("back to the draft: %q ack %v", cp.event.Value(), cp.ack)
	}
	typeInto(cp, "w")
	cp.Update(keyMsg("enter"))
	if n := len(cp.history); n != 3 || cp.history[2].Event != "draw" {
		t.Fatalf("history after send: %+v", cp.history)
	}
	cp.Update(keyMsg("enter")) // the same again is not repeated in history
	if len(cp.history) != 3 {
		t.Fatalf("duplicate entry: %+v", cp.history)
	}
}

func TestComposerAnswerMode(t *testing.T) {
	t.Parallel()
	cp := newTestComposer(nil)
	e := newEntry(5, event(1, "sid", "/chat", `["ask",1]`, 9, true, 0))
	e.tr.Dir = 0
	cp.startAnswer(&e)
	if cp.field != 1 || !strings.Contains(cp.View(), `Answer ack #9 of "ask" on /chat`) {
		t.Fatalf("answer mode view:\n%s", cp.View())
	}
	typeInto(cp, `"yes"`)
	sm := cp.Update(keyMsg("enter"))().(sendMsg)
	if sm.answer == nil || sm.answer.id != 9 || sm.nsp != "/chat" || string(sm.args[0]) != `"yes"` {
		t.Fatalf("answer = %+v", sm)
	}
	if cp.answer != nil {
		t.Fatal("still in answer mode after sending")
	}
	// esc leaves answer mode without sending.
	cp.startAnswer(&e)
	cp.Update(keyMsg("esc"))
	if cp.answer != nil || cp.focused {
		t.Fatal("esc did not leave answer mode")
	}
}

// Issue 15.7: the arguments are a multi-line editor: ctrl+j breaks a line
// (enter still sends), the composer grows with the text up to its
// bound, up and down move between lines before they walk the history,
// ctrl+f pretty-prints the arguments (and again compacts them), and
// errors say on which line they are. A value spread over lines is sent
// compact, as JSON.stringify would send it.
func TestComposerMultiLineArgs(t *testing.T) {
	t.Parallel()
	cp := newComposer(NewCommon(false, 80, 24), []HistoryItem{{Event: "old", Args: "1"}})
	cp.SetSize(80, 6)
	cp.focus(0)
	typeInto(cp, "chat")
	cp.Update(keyMsg("tab"))
	typeInto(cp, `{"user":`)
	cp.Update(keyMsg("ctrl+j"))
	typeInto(cp, `"ann",`)
	cp.Update(keyMsg("ctrl+j"))
	typeInto(cp, `"n": 1} two`)
	if got := cp.args.Value(); got != "{\"user\":\n\"ann\",\n\"n\": 1} two" {
		t.Fatalf("value %q", got)
	}
	if cp.height() != 5 || cp.err != "" {
		t.Fatalf("height %d (want 2 + 3 lines), err %q", cp.height(), cp.err)
	}
	view := cp.View()
	if lines := strings.Split(view, "\n"); len(lines) != 5 || !strings.Contains(lines[3], `"ann",`) {
		t.Fatalf("view:\n%s", view)
	}
	// up moves to the line above, not to the history.
	cp.Update(keyMsg("up"))
	if cp.event.Value() != "chat" || cp.args.Line() != 1 {
		t.Fatalf("up: event %q, line %d", cp.event.Value(), cp.args.Line())
	}
	// ctrl+f pretty-prints, then compacts.
	cp.Update(keyMsg("ctrl+f"))
	if got, want := cp.args.Value(), "{\n  \"user\": \"ann\",\n  \"n\": 1\n}\n\"two\""; got != want {
		t.Fatalf("formatted %q, want %q", got, want)
	}
	if cp.height() != 6 {
		t.Fatalf("height %d, want its bound 6", cp.height())
	}
	cp.Update(keyMsg("ctrl+f"))
	if got := cp.args.Value(); got != `{"user":"ann","n":1} "two"` {
		t.Fatalf("compacted %q", got)
	}
	cp.Update(keyMsg("ctrl+f"))
	sm := cp.Update(keyMsg("enter"))().(sendMsg)
	if len(sm.args) != 2 || string(sm.args[0]) != `{"user":"ann","n":1}` || string(sm.args[1]) != `"two"` {
		t.Fatalf("sent %q", sm.args)
	}
	// An error says its line.
	cp.args.SetValue("1\n{\"a\":}")
	cp.validate()
	if !strings.Contains(cp.err, "arg 2 (line 2, col 6)") {
		t.Fatalf("err %q", cp.err)
	}
	// Out of the composer, the arguments take one line.
	cp.blur()
	if cp.height() != 3 || !strings.Contains(cp.View(), "(+1 line)") {
		t.Fatalf("blurred: height %d\n%s", cp.height(), cp.View())
	}
}

// The line under a raw frame says what it reads as, as the log will show
// it; the frame is sent whatever it reads as.
func TestComposerRawFramePreview(t *testing.T) {
	t.Parallel()
	cp := newTestComposer(nil)
	cp.canRaw = true
	cp.Update(keyMsg("ctrl+r"))
	for _, tt := range []struct{ frame, want string }{
		{"", "sent exactly as typed; the log shows it as any packet sent"},
		{`42/admin,7["connect",{"a":1}]`, `= EVENT /admin connect #7 {"a":1}`},
		{`451-["up",{"_placeholder":true,"num":0}]`, `= BIN_EVENT up {"_placeholder":true,"num":0}`},
		{"3probe", "= Engine.IO pong probe  (v shows Engine.IO packets)"},
		{"4hello", "= Engine.IO message, not a Socket.IO packet: invalid packet type 'h' at offset 0"},
		{"x", "✗ invalid packet type 'x' at offset 0"},
	} {
		cp.frame.SetValue(tt.frame)
		if got := ansi.Strip(cp.framePreview()); got != tt.want {
			t.Errorf("preview of %q = %q, want %q", tt.frame, got, tt.want)
		}
		if cmd := cp.Update(keyMsg("enter")); (cmd != nil) != (tt.frame != "") {
			t.Errorf("enter on %q sent: %v", tt.frame, cmd != nil)
		} else if cmd != nil {
			if m := cmd().(rawMsg); m.frame != tt.frame {
				t.Errorf("sent %q, want %q", m.frame, tt.frame)
			}
		}
	}
	if len(cp.history) != 5 || cp.history[0].Raw == "" {
		t.Errorf("history %+v", cp.history)
	}
}
