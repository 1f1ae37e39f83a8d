package eioclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// upgrade moves a polling session to WebSocket like engine.io-client
// (engine.io-protocol, Upgrade; PROTOCOL.md §1.8):
//
//	C→S  GET ?EIO=n&transport=websocket&sid=X   (101)
//	C→S  T"2probe"
//	S→C  T"3probe"
//	     client pauses polling: waits for its GET and POST in flight, opens none
//	C→S  T"5"
//	     everything now goes over the WebSocket; the queue is flushed there
//
// A probe that fails (dial error, wrong answer, timeout) is closed and the
// session stays on polling. It runs on its own goroutine, which becomes
// the WebSocket reader once the upgrade is done.
func (c *Conn) upgrade(getDone, postDone <-chan struct{}) {
	defer c.wg.Done()
	ws, err := c.probeWS()
	if err != nil {
		c.mu.Lock()
		if c.state == stUpgrading {
			c.state = stOpen
		}
		c.probe = nil
		c.mu.Unlock()
		if ws != nil {
			ws.Close()
		}
		if c.ctx.Err() == nil {
			c.log.Debug("engine.io: upgrade probe failed, staying on polling", "sid", c.sid, "err", err)
		}
		return
	}

	// Pause polling: the loops see stPaused and return after their request
	// in flight; the server answers a pending GET with noop.
	c.wakeWriter()
	for _, ch := range []<-chan struct{}{getDone, postDone} {
		select {
		case <-ch:
		case <-c.ctx.Done():
			ws.Close()
			return
		}
	}

	c.mu.Lock()
	if c.state != stPaused {
		c.mu.Unlock()
		ws.Close()
		return
	}
	c.mu.Unlock()
	upgradePkt := protocol.EnginePacket{Type: protocol.EngineUpgrade}
	c.tap(protocol.Out, TransportWebSocket, upgradePkt, []byte("5"))
	if err := ws.WriteMessage(websocket.TextMessage, []byte("5")); err != nil {
		ws.Close()
		c.shutdown(protocol.ReasonTransportError, fmt.Errorf("upgrade: %w", err))
		return
	}
	c.mu.Lock()
	if c.state != stPaused {
		c.mu.Unlock()
		ws.Close()
		return
	}
	c.state = stOpen
	c.transport = TransportWebSocket
	c.ws, c.probe = ws, nil
	c.mu.Unlock()
	c.log.Debug("engine.io: upgraded", "sid", c.sid, "transport", TransportWebSocket)
	if c.ownClient != nil {
		// The polling connections are idle for good: free their sockets
		// and keep-alive goroutines now rather than after IdleConnTimeout.
		c.ownClient.CloseIdleConnections()
	}

	c.wg.Add(1)
	go c.wsWriteLoop(ws)
	c.wakeWriter()
	if c.opts.OnUpgrade != nil && !c.callback(func() { c.opts.OnUpgrade(TransportWebSocket) }) {
		return
	}
	c.wg.Add(1) // wsReadLoop's own Done balances it
	c.wsReadLoop(ws, false)
}

// probeWS dials the probe WebSocket and exchanges 2probe/3probe within
// ProbeTimeout. On success the connection is stPaused and the probe socket
// is returned. On failure the socket (if any) is returned with the error.
func (c *Conn) probeWS() (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.ProbeTimeout)
	defer cancel()
	ws, err := c.dialWS(ctx, c.wsURL(c.eio, c.sid))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.state != stOpen || c.closing {
		c.mu.Unlock()
		return ws, errors.New("connection closing")
	}
	c.state = stUpgrading
	c.probe = ws
	c.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	ping := protocol.EnginePacket{Type: protocol.EnginePing, Data: []byte("probe")}
	c.tap(protocol.Out, TransportWebSocket, ping, []byte("2probe"))
	if err := ws.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
		return ws, withContext(ctx, err)
	}
	mt, data, err := ws.ReadMessage()
	if err != nil {
		return ws, withContext(ctx, err)
	}
	if mt == websocket.TextMessage {
		if p, perr := protocol.ParseEngineText(data); perr == nil {
			c.tap(protocol.In, TransportWebSocket, p, data)
		}
	}
	if mt != websocket.TextMessage || string(data) != "3probe" {
		return ws, fmt.Errorf("%w: probe answered %q instead of \"3probe\"", ErrProtocol, data)
	}
	if !stop() {
		return ws, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stUpgrading || c.closing {
		return ws, errors.New("connection closing")
	}
	c.state = stPaused
	return ws, nil
}
