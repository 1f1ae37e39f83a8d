//go:build !linux

package eioserver

func flushBatchUring([]*Session) bool { return false }
