package redisadapter

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// monitorMsg is a PUBLISH seen by redis-cli MONITOR.
type monitorMsg struct {
	channel string
	payload []byte
}

// readMonitor reads the PUBLISH lines of a MONITOR capture: each argument
// is quoted the way Redis's sdscatrepr writes it.
func readMonitor(t *testing.T, path string) []monitorMsg {
	t.Helper()
	msgs, err := parseMonitor(path)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// readMonitorFile is readMonitor for a fuzz seed corpus: no capture, no
// seeds.
func readMonitorFile(path string) []monitorMsg {
	msgs, _ := parseMonitor(path)
	return msgs
}

func parseMonitor(path string) ([]monitorMsg, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []monitorMsg
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		cmd := `] "PUBLISH" `
		i := strings.Index(line, cmd)
		if i < 0 {
			cmd = `] "SPUBLISH" `
			if i = strings.Index(line, cmd); i < 0 {
				continue
			}
		}
		args, err := unquoteArgs(line[i+len(cmd):])
		if err != nil || len(args) != 2 {
			return nil, fmt.Errorf("PUBLISH line %q: %d arguments, %v", line, len(args), err)
		}
		out = append(out, monitorMsg{channel: string(args[0]), payload: args[1]})
	}
	return out, sc.Err()
}

func unquoteArgs(s string) ([][]byte, error) {
	var args [][]byte
	for len(s) > 0 {
		if s[0] == ' ' {
			s = s[1:]
			continue
		}
		if s[0] != '"' {
			return nil, fmt.Errorf("unquoted argument in %q", s)
		}
		var b []byte
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] != '\\' {
				b = append(b, s[i])
				continue
			}
			i++
			switch s[i] {
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'b':
				b = append(b, '\b')
			case 'a':
				b = append(b, '\a')
			case 'x':
				v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
				if err != nil {
					return nil, err
				}
				b = append(b, byte(v))
				i += 2
			default:
				b = append(b, s[i])
			}
		}
		args = append(args, b)
		s = s[i+1:]
	}
	return args, nil
}
