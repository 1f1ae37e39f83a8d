package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key binding of the UI, vim keys and arrows alike. One
// value is built by NewKeyMap and shared through Common.
type KeyMap struct {
	// Always.
	ForceQuit key.Binding
	// When not typing.
	Quit     key.Binding
	Help     key.Binding
	NextPane key.Binding
	PrevPane key.Binding
	Filter   key.Binding
	Compose  key.Binding
	Pause    key.Binding
	Clear    key.Binding
	Engine   key.Binding
	Save     key.Binding
	Repeat   key.Binding
	Edit     key.Binding
	Answer   key.Binding
	AutoAck  key.Binding
	OpenNsp  key.Binding
	CloseNsp key.Binding
	NextNsp  key.Binding
	PrevNsp  key.Binding
	Zoom     key.Binding
	// Per-event marks, by the selected event's name or edited as a list.
	Mute          key.Binding
	Highlight     key.Binding
	MuteList      key.Binding
	HighlightList key.Binding
	// Saved messages: the picker, and saving the composer's message.
	Saved   key.Binding
	SaveMsg key.Binding
	// Tabs: more connections in one session.
	OpenTab  key.Binding
	NextTab  key.Binding
	PrevTab  key.Binding
	CloseTab key.Binding

	// Lists and the log.
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Select   key.Binding
	Back     key.Binding

	// Inspector.
	Fold      key.Binding
	Expand    key.Binding
	Collapse  key.Binding
	ExpandAll key.Binding
	FoldAll   key.Binding

	// Composer (while typing).
	Send       key.Binding
	NextField  key.Binding
	ToggleAck  key.Binding
	CycleNsp   key.Binding
	HistPrev   key.Binding
	HistNext   key.Binding
	Newline    key.Binding
	Format     key.Binding
	RawFrame   key.Binding // the client's composer: an Engine.IO frame as typed
	LeaveInput key.Binding

	// Server dashboard.
	TabSockets key.Binding
	TabRooms   key.Binding
	TabTraffic key.Binding
	Join       key.Binding
	Leave      key.Binding
	Disconnect key.Binding
	Everyone   key.Binding
	Handshake  key.Binding
	HoldAck    key.Binding // sio proxy: hold / release an ack's answer
}

// NewKeyMap returns the default bindings.
func NewKeyMap() *KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return &KeyMap{
		ForceQuit: b([]string{"ctrl+c"}, "ctrl+c", "quit"),
		Quit:      b([]string{"q"}, "q", "quit"),
		Help:      b([]string{"?"}, "?", "help"),
		NextPane:  b([]string{"tab"}, "tab", "next pane"),
		PrevPane:  b([]string{"shift+tab"}, "shift+tab", "previous pane"),
		Filter:    b([]string{"/"}, "/", "filter"),
		Compose:   b([]string{"e", "i"}, "e", "emit"),
		Pause:     b([]string{"p"}, "p", "pause"),
		Clear:     b([]string{"ctrl+l"}, "ctrl+l", "clear log"),
		Engine:    b([]string{"v"}, "v", "engine.io packets"),
		Save:      b([]string{"s"}, "s", "save log"),
		Repeat:    b([]string{"r"}, "r", "repeat selected"),
		Edit:      b([]string{"y"}, "y", "copy to composer"),
		Answer:    b([]string{"a"}, "a", "answer ack"),
		AutoAck:   b([]string{"A"}, "A", "auto-answer acks"),
		OpenNsp:   b([]string{"n"}, "n", "open namespace"),
		CloseNsp:  b([]string{"x"}, "x", "close namespace"),
		NextNsp:   b([]string{"]"}, "]", "next namespace"),
		PrevNsp:   b([]string{"["}, "[", "previous namespace"),
		Zoom:      b([]string{"z"}, "z", "zoom pane"),

		Mute:          b([]string{"m"}, "m", "mute event"),
		Highlight:     b([]string{"b"}, "b", "highlight event"),
		MuteList:      b([]string{"M"}, "M", "muted list"),
		HighlightList: b([]string{"B"}, "B", "highlighted list"),
		Saved:         b([]string{"o"}, "o", "saved messages"),
		SaveMsg:       b([]string{"ctrl+s"}, "ctrl+s", "save message"),
		OpenTab:       b([]string{"T"}, "T", "new tab (URL or @profile)"),
		NextTab:       b([]string{"}"}, "}", "next tab"),
		PrevTab:       b([]string{"{"}, "{", "previous tab"),
		CloseTab:      b([]string{"W"}, "W", "close tab"),

		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+u", "ctrl+b"}, "pgup/ctrl+u", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+d", "ctrl+f"}, "pgdn/ctrl+d", "page down"),
		Top:      b([]string{"home", "g"}, "g/home", "first"),
		Bottom:   b([]string{"end", "G"}, "G/end", "last, follow"),
		Select:   b([]string{"enter"}, "enter", "inspect"),
		Back:     b([]string{"esc"}, "esc", "back"),

		Fold:      b([]string{"enter", "space"}, "enter/space", "fold"),
		Expand:    b([]string{"right", "l"}, "→/l", "expand"),
		Collapse:  b([]string{"left", "h"}, "←/h", "collapse"),
		ExpandAll: b([]string{"E"}, "E", "expand all"),
		FoldAll:   b([]string{"C"}, "C", "collapse all"),

		Send:       b([]string{"enter"}, "enter", "send"),
		NextField:  b([]string{"tab", "shift+tab"}, "tab", "event/args"),
		ToggleAck:  b([]string{"ctrl+t"}, "ctrl+t", "expect ack"),
		CycleNsp:   b([]string{"ctrl+n"}, "ctrl+n", "namespace"),
		HistPrev:   b([]string{"up"}, "↑", "history"),
		HistNext:   b([]string{"down"}, "↓", "history"),
		Newline:    b([]string{"ctrl+j", "alt+enter"}, "ctrl+j", "new line in args"),
		Format:     b([]string{"ctrl+f"}, "ctrl+f", "format args JSON"),
		RawFrame:   b([]string{"ctrl+r"}, "ctrl+r", "raw frame"),
		LeaveInput: b([]string{"esc"}, "esc", "leave"),

		TabSockets: b([]string{"1"}, "1", "sockets"),
		TabRooms:   b([]string{"2"}, "2", "rooms"),
		TabTraffic: b([]string{"3"}, "3", "traffic"),
		Join:       b([]string{"J"}, "J", "join room"),
		Leave:      b([]string{"L"}, "L", "leave room"),
		Disconnect: b([]string{"D"}, "D", "disconnect"),
		Everyone:   b([]string{"*"}, "*", "target everyone"),
		Handshake:  b([]string{"H"}, "H", "handshake ⇄ traffic"),
		HoldAck:    b([]string{"h"}, "h", "hold/release ack answer (proxy)"),
	}
}
