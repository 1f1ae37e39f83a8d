package e2e

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// screen is a small terminal emulator: enough of ECMA-48 to follow what a
// bubbletea program draws (cursor addressing, erasing, scrolling, repeat),
// so tests read the screen a user sees rather than the byte stream, in
// which a diffing renderer writes only the cells that changed. Colours and
// modes are ignored.
type screen struct {
	w, h   int
	cells  [][]rune
	x, y   int
	sx, sy int  // saved cursor
	last   rune // the last printed character, for REP
	top    int  // scroll region, 0-based, inclusive
	bottom int
	pend   []byte // an incomplete sequence or UTF-8 character
}

func newScreen(w, h int) *screen {
	s := &screen{w: w, h: h}
	s.clear()
	return s
}

func (s *screen) clear() {
	s.cells = make([][]rune, s.h)
	for i := range s.cells {
		s.cells[i] = blankLine(s.w)
	}
	s.top, s.bottom = 0, s.h-1
}

func blankLine(w int) []rune {
	l := make([]rune, w)
	for i := range l {
		l[i] = ' '
	}
	return l
}

// String returns the screen, one line per row, trailing spaces trimmed.
func (s *screen) String() string {
	var b strings.Builder
	for _, l := range s.cells {
		b.WriteString(strings.TrimRight(string(l), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// Write feeds output to the emulator.
func (s *screen) Write(p []byte) (int, error) {
	data := append(s.pend, p...)
	s.pend = nil
	i := 0
	for i < len(data) {
		c := data[i]
		switch {
		case c == 0x1b:
			n := s.escape(data[i:])
			if n == 0 { // incomplete
				s.pend = append([]byte(nil), data[i:]...)
				return len(p), nil
			}
			i += n
			continue
		case c == '\r':
			s.x = 0
		case c == '\n', c == 0x0b, c == 0x0c:
			s.lineFeed()
		case c == '\b':
			if s.x > 0 {
				s.x--
			}
		case c == '\t':
			s.x = min((s.x/8+1)*8, s.w-1)
		case c < 0x20 || c == 0x7f:
			// BEL and the rest: nothing to draw.
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 && !utf8.FullRune(data[i:]) {
				s.pend = append([]byte(nil), data[i:]...)
				return len(p), nil
			}
			s.put(r)
			i += size
			continue
		}
		i++
	}
	return len(p), nil
}

func (s *screen) put(r rune) {
	if s.x >= s.w {
		s.x = 0
		s.lineFeed()
	}
	s.cells[s.y][s.x] = r
	s.x++
	s.last = r
}

func (s *screen) lineFeed() {
	if s.y == s.bottom {
		s.scrollUp(1)
		return
	}
	if s.y < s.h-1 {
		s.y++
	}
}

func (s *screen) scrollUp(n int) {
	for ; n > 0; n-- {
		copy(s.cells[s.top:s.bottom], s.cells[s.top+1:s.bottom+1])
		s.cells[s.bottom] = blankLine(s.w)
	}
}

func (s *screen) scrollDown(n int) {
	for ; n > 0; n-- {
		copy(s.cells[s.top+1:s.bottom+1], s.cells[s.top:s.bottom])
		s.cells[s.top] = blankLine(s.w)
	}
}

// escape handles the sequence at the start of b and returns its length,
// 0 when b ends before the sequence does.
func (s *screen) escape(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '[':
		return s.csi(b)
	case ']', 'P', '^', '_': // OSC, DCS, PM, APC: skip to BEL or ST
		for i := 2; i < len(b); i++ {
			if b[i] == 0x07 && b[1] == ']' {
				return i + 1
			}
			if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '\\' {
				return i + 2
			}
		}
		return 0
	case '(', ')', '*', '+', '#', ' ':
		if len(b) < 3 {
			return 0
		}
		return 3
	case '7':
		s.sx, s.sy = s.x, s.y
	case '8':
		s.x, s.y = s.sx, s.sy
	case 'M': // reverse index
		if s.y == s.top {
			s.scrollDown(1)
		} else if s.y > 0 {
			s.y--
		}
	case 'D':
		s.lineFeed()
	case 'E':
		s.x = 0
		s.lineFeed()
	case 'c':
		s.clear()
		s.x, s.y = 0, 0
	}
	return 2
}

func (s *screen) csi(b []byte) int {
	end := -1
	for i := 2; i < len(b); i++ {
		if b[i] >= 0x40 && b[i] <= 0x7e {
			end = i
			break
		}
	}
	if end < 0 {
		return 0
	}
	params, final := string(b[2:end]), b[end]
	private := params != "" && strings.ContainsAny(params[:1], "?<>=")
	// Intermediate bytes (such as '$' or ' ') make another command.
	if private || strings.ContainsAny(params, " !\"#$%&'()*+,-./") {
		if private && (final == 'h' || final == 'l') && strings.Contains(params, "1049") {
			s.clear() // entering or leaving the alternate screen
			s.x, s.y = 0, 0
		}
		return end + 1
	}
	var ps []int
	for _, f := range strings.Split(params, ";") {
		n, _ := strconv.Atoi(strings.SplitN(f, ":", 2)[0])
		ps = append(ps, n)
	}
	arg := func(i, def int) int {
		if i < len(ps) && ps[i] > 0 {
			return ps[i]
		}
		return def
	}
	clampX := func(x int) int { return max(0, min(x, s.w-1)) }
	clampY := func(y int) int { return max(0, min(y, s.h-1)) }
	switch final {
	case 'H', 'f':
		s.y, s.x = clampY(arg(0, 1)-1), clampX(arg(1, 1)-1)
	case 'A':
		s.y = clampY(s.y - arg(0, 1))
	case 'B', 'e':
		s.y = clampY(s.y + arg(0, 1))
	case 'C', 'a':
		s.x = clampX(s.x + arg(0, 1))
	case 'D':
		s.x = clampX(s.x - arg(0, 1))
	case 'E':
		s.y, s.x = clampY(s.y+arg(0, 1)), 0
	case 'F':
		s.y, s.x = clampY(s.y-arg(0, 1)), 0
	case 'G', '`':
		s.x = clampX(arg(0, 1) - 1)
	case 'd':
		s.y = clampY(arg(0, 1) - 1)
	case 'J':
		switch arg(0, 0) {
		case 0:
			s.eraseLine(s.y, s.x, s.w)
			for y := s.y + 1; y < s.h; y++ {
				s.cells[y] = blankLine(s.w)
			}
		case 1:
			for y := 0; y < s.y; y++ {
				s.cells[y] = blankLine(s.w)
			}
			s.eraseLine(s.y, 0, s.x+1)
		default:
			for y := range s.cells {
				s.cells[y] = blankLine(s.w)
			}
		}
	case 'K':
		switch arg(0, 0) {
		case 0:
			s.eraseLine(s.y, s.x, s.w)
		case 1:
			s.eraseLine(s.y, 0, s.x+1)
		default:
			s.eraseLine(s.y, 0, s.w)
		}
	case 'X':
		s.eraseLine(s.y, s.x, s.x+arg(0, 1))
	case 'b':
		for n := arg(0, 1); n > 0; n-- {
			s.put(s.last)
		}
	case '@':
		l := s.cells[s.y]
		n := min(arg(0, 1), s.w-s.x)
		copy(l[s.x+n:], l[s.x:])
		for i := s.x; i < s.x+n; i++ {
			l[i] = ' '
		}
	case 'P':
		l := s.cells[s.y]
		n := min(arg(0, 1), s.w-s.x)
		copy(l[s.x:], l[s.x+n:])
		for i := s.w - n; i < s.w; i++ {
			l[i] = ' '
		}
	case 'L', 'M':
		if s.y < s.top || s.y > s.bottom {
			break
		}
		top := s.top
		s.top = s.y
		if final == 'L' {
			s.scrollDown(arg(0, 1))
		} else {
			s.scrollUp(arg(0, 1))
		}
		s.top = top
	case 'S':
		s.scrollUp(arg(0, 1))
	case 'T':
		s.scrollDown(arg(0, 1))
	case 'r':
		s.top, s.bottom = clampY(arg(0, 1)-1), clampY(arg(1, s.h)-1)
		s.x, s.y = 0, 0
	case 's':
		s.sx, s.sy = s.x, s.y
	case 'u':
		s.x, s.y = s.sx, s.sy
	}
	return end + 1
}

func (s *screen) eraseLine(y, from, to int) {
	for x := max(from, 0); x < min(to, s.w); x++ {
		s.cells[y][x] = ' '
	}
}

func TestScreen(t *testing.T) {
	tests := []struct {
		name string
		in   []string // written one after the other
		want string
	}{
		{"text and newlines", []string{"ab\r\ncd"}, "ab\ncd\n\n"},
		{"cursor addressing", []string{"\x1b[2;3Hx\x1b[1;1Hy\x1b[3dz"}, "y\n  x\n z\n"},
		{"erase and repeat", []string{"hello\x1b[1;2H\x1b[2Xo\x1b[5b"}, "hoooooo\n\n\n"},
		{"erase to end of line", []string{"hello\x1b[1;3H\x1b[K"}, "he\n\n\n"},
		{"clear and colours", []string{"x\x1b[2J\x1b[H\x1b[38;5;1mred\x1b[m"}, "red\n\n\n"},
		{"split sequence and UTF-8", []string{"\x1b[2;", "1H\xe2", "\x9c", "\x93 ok"}, "\n✓ ok\n\n"},
		{"scroll at the bottom", []string{"1\r\n2\r\n3\r\n4"}, "2\n3\n4\n"},
		{"alternate screen", []string{"old\x1b[?1049hnew"}, "new\n\n\n"},
		{"OSC title and modes", []string{"\x1b]2;title\x07\x1b[?25l\x1b[>4;2mt"}, "t\n\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScreen(8, 3)
			for _, in := range tt.in {
				s.Write([]byte(in))
			}
			if got := s.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
