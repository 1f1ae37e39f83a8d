// Package loadgen is sio's load generator: it opens many Socket.IO
// connections to any server (socket.io 2.x over Engine.IO v3, 3.x/4.x over
// Engine.IO v4, or sio serve) and drives one of five scenarios while it
// measures and validates every reply.
//
// Scenarios (Config.Scenario):
//
//   - connect: open Clients connections at a given rate and hold them.
//   - emit: each client emits Event at Rate per second, or as fast as the
//     connection takes them (fire and forget).
//   - ack: each client emits with an ack id and waits for the ACK; the
//     round trip is the latency.
//   - echo: each client emits Event and waits for ReplyEvent.
//   - fanout: every client joins Room with JoinEvent; one of them emits
//     Event and every other must receive it exactly once.
//
// Every reply is checked: an ACK or reply must carry exactly what was sent
// (or Config.Expect), arrive once and in order. A lost, duplicated, reordered
// or wrong reply is an error and never a success.
//
// The hot path does not go through a general client: each connection is a
// small WebSocket client of its own (ws.go) that writes pre-encoded frames
// and decodes only the bytes it has to validate, so that the loader costs a
// few microseconds of CPU per round trip. It speaks WebSocket only; polling
// is not supported by the load engine.
//
// Latencies are kept in a log-linear histogram (Histogram, HDR style, under
// 0.8 % relative error), never as a list of samples, so that results from
// several worker processes can be merged (Merge).
//
// Concurrency: Run owns its goroutines and returns only after all of them
// have ended. Each connection has one reader goroutine; writes are
// serialised by a per-connection mutex (senders, pongs and v3 pings).
// Counters are atomic. A Result is plain data.
//
// I/O (Config.IO): on Linux the closed loop's WebSocket connections (ack
// and echo at Rate 0, plain TCP) leave Go's netpoller once connected and
// are read and written by one epoll event loop per P (poll_linux.go): a
// round trip costs one read and one write plus a share of epoll_wait,
// against a second read (EAGAIN) and a goroutine wake-up each on the
// netpoller. A loop sends the requests of one pass over its ready sockets
// with one io_uring submission (poll_uring_linux.go; pkg/internal/uring)
// where it can set a ring up, else with write(2) each (IO "epoll-nouring",
// or the sio_nouring build tag). Everything else, and IO "netpoll" (the
// hidden flag `sio bench --io netpoll`), keeps one reader goroutine per
// connection.
package loadgen
