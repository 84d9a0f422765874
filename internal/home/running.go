package home

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// RunningFile is the file in a home that says a node serves it: written
// once the node listens, removed when it stops cleanly.
const RunningFile = "node.json"

// Running is what a node serving a home writes to RunningFile, so that a
// command that finds the store locked can say which node holds it and
// where to reach it.
type Running struct {
	PID     int    `json:"pid"`
	Listen  string `json:"listen"`  // host:port the API is served on
	Started string `json:"started"` // RFC 3339
}

// WriteRunning records that a node with r serves the home. The file is
// written beside its place and renamed over it, so a reader sees the old
// record or the new one, never part of either.
func (h *Home) WriteRunning(r Running) error {
	b, _ := json.MarshalIndent(r, "", "  ")
	f, err := os.CreateTemp(h.Dir, "."+RunningFile+".*")
	if err != nil {
		return fmt.Errorf("home: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(h.Dir, RunningFile))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("home: %w", err)
	}
	return nil
}

// RemoveRunning removes the record WriteRunning wrote, if it is still
// the one of pid (a record another process wrote since stays).
func (h *Home) RemoveRunning(pid int) error {
	r, err := ReadRunning(h.Dir)
	if err != nil || r == nil || r.PID != pid {
		return err
	}
	if err := os.Remove(filepath.Join(h.Dir, RunningFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("home: %w", err)
	}
	return nil
}

// ReadRunning returns the record of the node serving the home in dir, or
// nil if there is none. The record may be stale (a node that did not stop
// cleanly): see Alive.
func ReadRunning(dir string) (*Running, error) {
	b, err := os.ReadFile(filepath.Join(dir, RunningFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	var r Running
	if err := json.Unmarshal(b, &r); err != nil || r.PID <= 0 || r.Listen == "" {
		return nil, fmt.Errorf("home: %s: not a node record", filepath.Join(dir, RunningFile))
	}
	return &r, nil
}

// Alive reports whether the process the record names still runs (on
// this machine; a process of another user counts).
func (r *Running) Alive() bool {
	p, err := os.FindProcess(r.PID)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
