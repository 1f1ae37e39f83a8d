package client

import (
	"fmt"

	"github.com/sio-dev/sio/pkg/protocol"
)

// StateKind names a lifecycle event of a Client or one of its sockets,
// after socket.io-client's Manager and Socket events.
type StateKind int

const (
	// StateOpen: the engine.io connection is open (Manager "open").
	StateOpen StateKind = iota
	// StateUpgrade: the transport changed (polling → websocket).
	StateUpgrade
	// StateClose: the engine.io connection ended (Manager "close"); Reason
	// says why and Err holds the cause when there is one.
	StateClose
	// StateConnect: a namespace is connected (Socket "connect"); Recovered
	// tells whether connection state recovery restored its session.
	StateConnect
	// StateConnectError: a namespace's CONNECT was refused (Socket
	// "connect_error"); Err is a *ConnectError, or ErrServerV4 when a
	// socket.io 2.x server answered a v5 CONNECT.
	StateConnectError
	// StateDisconnect: a namespace was disconnected (Socket "disconnect").
	StateDisconnect
	// StateReconnectAttempt: reconnection attempt Attempt starts
	// (Manager "reconnect_attempt").
	StateReconnectAttempt
	// StateReconnectError: attempt Attempt failed with Err.
	StateReconnectError
	// StateReconnect: attempt Attempt succeeded (Manager "reconnect").
	StateReconnect
	// StateReconnectFailed: Options.ReconnectAttempts were used up.
	StateReconnectFailed
)

var stateNames = [...]string{"open", "upgrade", "close", "connect", "connect_error", "disconnect",
	"reconnect_attempt", "reconnect_error", "reconnect", "reconnect_failed"}

// String returns socket.io-client's event name ("connect", "reconnect_attempt", ...).
func (k StateKind) String() string {
	if int(k) < len(stateNames) {
		return stateNames[k]
	}
	return fmt.Sprintf("state(%d)", int(k))
}

// State is one lifecycle event, given to the handlers registered with
// Client.OnState.
type State struct {
	Kind      StateKind
	Namespace string // StateConnect, StateConnectError, StateDisconnect
	SID       string // the socket id (StateConnect) or engine.io sid (StateOpen)
	Transport string // StateOpen, StateUpgrade
	EIO       protocol.EIO
	Attempt   int // reconnection attempt, from 1
	Recovered bool
	Reason    protocol.DisconnectReason // StateClose, StateDisconnect
	Err       error
}

// String is a one-line description for logs.
func (s State) String() string {
	switch s.Kind {
	case StateOpen:
		return fmt.Sprintf("open sid=%s eio=%d transport=%s", s.SID, int(s.EIO), s.Transport)
	case StateUpgrade:
		return "upgrade transport=" + s.Transport
	case StateClose:
		if s.Err != nil {
			return fmt.Sprintf("close: %s: %v", s.Reason, s.Err)
		}
		return "close: " + string(s.Reason)
	case StateConnect:
		if s.Recovered {
			return fmt.Sprintf("connect %s sid=%s (recovered)", s.Namespace, s.SID)
		}
		return fmt.Sprintf("connect %s sid=%s", s.Namespace, s.SID)
	case StateConnectError:
		return fmt.Sprintf("connect_error %s: %v", s.Namespace, s.Err)
	case StateDisconnect:
		return fmt.Sprintf("disconnect %s: %s", s.Namespace, s.Reason)
	case StateReconnectAttempt:
		return fmt.Sprintf("reconnect_attempt %d", s.Attempt)
	case StateReconnectError:
		return fmt.Sprintf("reconnect_error %d: %v", s.Attempt, s.Err)
	case StateReconnect:
		return fmt.Sprintf("reconnect after %d attempts", s.Attempt)
	case StateReconnectFailed:
		return "reconnect_failed"
	}
	return s.Kind.String()
}
