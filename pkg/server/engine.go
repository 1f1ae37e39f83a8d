package server

import (
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server/eioserver"
)

// New returns a Server for opts. Register namespaces, middlewares and
// handlers, then serve it (it is an http.Handler for Options.Path):
//
//	srv := server.New(server.Options{})
//	srv.Of("/").OnConnection(func(s *server.Socket) { … })
//	http.Handle("/socket.io/", srv)
func New(opts Options) *Server {
	s := newServer(opts)
	o := s.opts
	eo := eioserver.Options{
		Path:           o.Path,
		PingInterval:   o.PingInterval,
		PingTimeout:    o.PingTimeout,
		UpgradeTimeout: o.UpgradeTimeout,
		MaxPayload:     o.MaxPayload,
		Transports:     o.Transports,
		AllowUpgrades:  o.AllowUpgrades,
		AllowEIO3:      o.AllowEIO3,
		AllowRequest:   o.AllowRequest,
		SendQueue:      o.SendQueue,
		SendQueueBytes: o.SendQueueBytes,
		IOUring:        o.IOUring,
		OnReject:       o.OnEngineReject,
		OnSessionError: o.OnPeerError,
		Logger:         o.Logger,
		NewID:          o.NewID,
		Now:            o.Now,
	}
	if !o.SocketTapOnly {
		eo.Tap = o.Tap
	}
	if o.CORS != nil {
		cors := *o.CORS // the server keeps its own copy, as before the alias
		eo.CORS = &cors
	}
	eng := eioserver.NewServer(eo)
	eng.OnConnection(s.onSession)
	s.eng = eng
	return s
}

// onSession attaches a new Engine.IO session; it runs before any of the
// session's messages.
func (s *Server) onSession(sess *eioserver.Session) {
	c := s.attach(sess, sess.Request())
	if c == nil {
		return
	}
	sess.SetHandler((*connHandler)(c)) // one value: no closure per session
	c.start()
}

// connHandler is a conn as its session's eioserver.Handler.
type connHandler conn

func (h *connHandler) OnMessage(data []byte, binary bool)       { (*conn)(h).onMessage(data, binary) }
func (h *connHandler) OnClose(reason protocol.DisconnectReason) { (*conn)(h).onClose(reason) }
func (h *connHandler) OnUpgrade(transport string)               { (*conn)(h).onUpgrade(transport) }
