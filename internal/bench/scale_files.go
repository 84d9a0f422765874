package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/state"
)

// bench scale keeps a city on disk, not in memory, between its steps: the
// simulated lines (NDJSON) and then its signed records, each a uvarint
// length and the record's bytes. At 10 million records the city in memory
// took about 6 GiB; on disk the sizes are bounded by the disk, so that
// the curve goes as far as the machine's time allows.

// simulateFile writes the city of cfg to path as NDJSON.
func simulateFile(path string, cfg sim.Config) (*sim.Truth, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	truth, err := sim.Generate(cfg, ndjson.NewWriter(bw))
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("simulate to %s: %w", path, err)
	}
	return truth, nil
}

// identitiesIn lists the canonical ids of the identity records of the
// NDJSON file at path, reading it line by line.
func identitiesIn(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	br := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%s: a line over %d bytes", path, br.Size())
		}
		if bytes.Contains(line, []byte(`"type":"identity"`)) {
			if v, perr := ndjson.Parse(bytes.TrimRight(line, "\n")); perr == nil {
				out = append(out, v.(*ndjson.Identity).ID)
			}
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// fileSink is an importer.Sink that appends each signed record to a file
// (a uvarint length, then the bytes) and keeps the vault entries.
type fileSink struct {
	mu    sync.Mutex
	w     *bufio.Writer
	n     int
	vault []node.VaultEntry
	err   error
}

func (s *fileSink) SubmitAsync(raw []byte, done func(engine.Receipt)) error {
	s.mu.Lock()
	var l [binary.MaxVarintLen64]byte
	if s.err == nil {
		_, s.err = s.w.Write(l[:binary.PutUvarint(l[:], uint64(len(raw)))])
	}
	if s.err == nil {
		_, s.err = s.w.Write(raw)
	}
	err := s.err
	s.n++
	s.mu.Unlock()
	if err != nil {
		return err
	}
	done(engine.Receipt{})
	return nil
}

func (s *fileSink) PutVault(es []node.VaultEntry) error {
	s.mu.Lock()
	s.vault = append(s.vault, es...)
	s.mu.Unlock()
	return nil
}

func (s *fileSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = s.w.Flush()
	}
	return s.err
}

// signedFile makes a home in dir (validation on) and signs the city of
// the NDJSON file at city into the file at out. It returns the home, the
// vault entries to load before the ingest, and how many records it
// signed.
func signedFile(dir, city, out string) (*home.Home, []node.VaultEntry, int, error) {
	rules := state.DefaultParams()
	rules.Validation.Enabled = true
	h, err := home.Init(dir, home.InitOptions{ChainID: "epiledger-bench", Region: "420100", Rules: &rules})
	if err != nil {
		return nil, nil, 0, err
	}
	in, err := os.Open(city)
	if err != nil {
		return nil, nil, 0, err
	}
	defer in.Close()
	f, err := os.Create(out)
	if err != nil {
		return nil, nil, 0, err
	}
	sink := &fileSink{w: bufio.NewWriterSize(f, 1<<20)}
	_, err = importer.New(h, sink).Import(in)
	if err == nil {
		err = sink.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("sign into %s: %w", out, err)
	}
	return h, sink.vault, sink.n, nil
}

// ingestFile opens a node on h (no resident timeline) and times the
// ingest of the signed records in the file at path, read as they are
// submitted (the engine's queue holds back the reading when it is full).
// The caller closes the node; on an error it is closed.
func ingestFile(h *home.Home, vault []node.VaultEntry, path string) (*node.Node, time.Duration, error) {
	n, err := openForIngest(h, vault, false)
	if err != nil {
		return nil, 0, err
	}
	fail := func(err error) (*node.Node, time.Duration, error) {
		n.Close()
		return nil, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var wg sync.WaitGroup
	var failMu sync.Mutex
	var refused error
	start := time.Now()
	for i := 0; ; i++ {
		size, err := binary.ReadUvarint(br)
		if err == io.EOF {
			break
		}
		if err != nil || size > 1<<20 {
			wg.Wait()
			return fail(fmt.Errorf("%s: record %d: a bad length (%v)", path, i, err))
		}
		raw := make([]byte, size)
		if _, err := io.ReadFull(br, raw); err != nil {
			wg.Wait()
			return fail(fmt.Errorf("%s: record %d: %w", path, i, err))
		}
		wg.Add(1)
		if err := n.Engine.SubmitAsync(raw, func(rc engine.Receipt) {
			if rc.Err != nil {
				failMu.Lock()
				if refused == nil {
					refused = fmt.Errorf("record %d refused: %w", i, rc.Err)
				}
				failMu.Unlock()
			}
			wg.Done()
		}); err != nil {
			wg.Done()
			wg.Wait()
			return fail(err)
		}
	}
	wg.Wait()
	el := time.Since(start)
	if refused != nil {
		return fail(refused)
	}
	return n, el, nil
}
