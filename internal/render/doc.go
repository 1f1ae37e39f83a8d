// Package render prints sio's traffic for people and for scripts: one line
// per packet, either pretty (time, a coloured direction arrow, socket id,
// namespace, type, event and arguments) or as JSON lines whose schema is
// defined here and only here (CLI.md, "JSON lines").
//
// Start with New and a Printer; Trace prints what a server or client Tap
// reports, Lifecycle prints session events (connect, disconnect, upgrade,
// errors) and Record prints any Record, such as the ones FromPacket and
// FromEngine build for `sio decode`.
//
// A Printer is safe for concurrent use: taps call it from many connection
// goroutines, and each record is written with a single Write call, so
// lines never interleave.
package render
